"""Hostile and out-of-range input to the calendar: a clear 4xx, never a 500, nothing saved.

Dates in year 0001 or 9999 overflowed the moment they met a time zone; "book anyway" saved
visits in year 0002; messages spoke of a visit for a shift, showed a constraint's name, or
said "Bad date or time" for a chair of another branch.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from calendar_app import services
from calendar_app.models import Appointment, WaitingListEntry, WorkShift
from clinic import bounds
from clinic.models import AuditEntry
from clinic.tests.factories import ChairFactory

from .factories import AppointmentFactory

HTMX = {"HTTP_HX_REQUEST": "true"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
HOSTILE_DAYS = ["0001-01-01", "0002-01-01", "1900-01-01", "9999-12-31"]


def _saved_nothing(before: dict) -> bool:
    return before == _counts()


def _counts() -> dict:
    return {
        "appointments": Appointment.all_objects.count(),
        "shifts": WorkShift.all_objects.count(),
        "waiting": WaitingListEntry.all_objects.count(),
        "audit": AuditEntry.objects.count(),
    }


@pytest.fixture
def booked(clinic):
    return AppointmentFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(10),
    )


def _booking(clinic, day: str, **extra) -> dict:
    return {
        "patient": clinic.patient.pk,
        "doctor": clinic.doctor.pk,
        "chair": clinic.chair1.pk,
        "date": day,
        "time": "10:00",
        "duration_minutes": 30,
        **extra,
    }


# --- Dates far away: 4xx everywhere, never an OverflowError ------------------------------


@pytest.mark.parametrize("day", HOSTILE_DAYS)
@pytest.mark.parametrize("anyway", [False, True], ids=["checked", "book-anyway"])
def test_booking_a_visit_far_away_is_refused_and_saves_nothing(
    registrar_client, clinic, day, anyway
):
    before = _counts()
    data = _booking(clinic, day, **({"allow_outside_shift": "true"} if anyway else {}))
    response = registrar_client.post(
        f"{reverse('calendar:appointment-create')}?branch={clinic.branch.pk}", data, **HTMX, **EN
    )
    assert response.status_code == 422
    assert _saved_nothing(before)
    form = response.context["form"]
    message = " ".join(form.errors.get("date", []) + form.non_field_errors())
    assert "from" in message, message  # "Enter a date from …" / "Visits are booked from …"


@pytest.mark.parametrize("day", HOSTILE_DAYS)
@pytest.mark.parametrize("view", ["appointment-edit", "appointment-reschedule"])
def test_editing_or_rescheduling_a_visit_far_away_is_refused(
    registrar_client, clinic, booked, day, view
):
    before = _counts()
    data = _booking(clinic, day, allow_outside_shift="true")
    response = registrar_client.post(reverse(f"calendar:{view}", args=[booked.pk]), data, **HTMX)
    assert response.status_code == 422
    assert _saved_nothing(before)
    booked.refresh_from_db()
    assert booked.start == clinic.at(10)


@pytest.mark.parametrize("day", HOSTILE_DAYS)
def test_dragging_a_visit_or_a_shift_far_away_is_refused(registrar_client, clinic, booked, day):
    shift = WorkShift.objects.get(doctor=clinic.doctor)
    for url, extra in [
        (reverse("calendar:appointment-move", args=[booked.pk]), {"allow_outside_shift": "true"}),
        (reverse("calendar:shift-move", args=[shift.pk]), {}),
    ]:
        before = _counts()
        data = {"start": f"{day}T10:00:00", "end": f"{day}T10:30:00", **extra}
        response = registrar_client.post(url, data)
        assert response.status_code == 422, url
        assert response.json()["ok"] is False and response.json()["error"]
        assert _saved_nothing(before)
    booked.refresh_from_db()
    shift.refresh_from_db()
    assert booked.start == clinic.at(10) and shift.start == clinic.at(9)


@pytest.mark.parametrize("day", HOSTILE_DAYS)
def test_adding_a_shift_far_away_is_refused(registrar_client, clinic, day):
    before = _counts()
    response = registrar_client.post(
        f"{reverse('calendar:shift-create')}?branch={clinic.branch.pk}",
        {
            "doctor": clinic.doctor.pk,
            "chair": clinic.chair2.pk,
            "pattern": "single",
            "date": day,
            "time_from": "09:00",
            "time_to": "10:00",
        },
        **HTMX,
    )
    assert response.status_code == 422
    assert _saved_nothing(before)


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "not-a-date"])
def test_pages_asked_for_a_day_far_away_show_today(admin_client, clinic, day):
    page = admin_client.get(reverse("calendar:calendar"), {"branch": clinic.branch.pk, "date": day})
    assert page.status_code == 200
    assert page.context["day"] == timezone.localdate()
    schedule = admin_client.get(reverse("schedule:day"), {"doctor": clinic.doctor.pk, "date": day})
    assert schedule.status_code == 200
    assert schedule.context["day"] == timezone.localdate()


@pytest.mark.parametrize(
    "params",
    [
        {"start": "0001-01-01"},
        {"start": "9999-12-30", "end": "9999-12-31"},
        {"end": "0001-01-01"},
        {"start": "garbage"},
    ],
)
def test_the_events_feed_refuses_dates_far_away_with_a_message(registrar_client, clinic, params):
    response = registrar_client.get(
        reverse("calendar:feed-events"), {"branch": clinic.branch.pk, **params}, **EN
    )
    assert response.status_code == 400
    assert "must be a date from 1900-01-01 to 2100-12-31" in response.json()["error"]


@pytest.mark.parametrize(
    "start", ["0001-01-01T00:00:00", "9999-12-31T23:50:00", "10000-01-01T00:00", "²"]
)
def test_the_booking_dialog_opens_whatever_start_it_is_given(registrar_client, clinic, start):
    response = registrar_client.get(
        reverse("calendar:appointment-create"),
        {"branch": clinic.branch.pk, "start": start, "end": "9999-12-31T23:59:00"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "date" not in response.context["form"].initial


@pytest.mark.parametrize("day", [datetime.date(2, 1, 1), datetime.date(1900, 1, 1)])
def test_the_service_refuses_a_visit_outside_the_calendar_window_even_booked_anyway(
    registrar, clinic, day
):
    start = datetime.datetime.combine(day, datetime.time(10), tzinfo=clinic.branch.zone)
    with pytest.raises(ValidationError) as refused:
        services.appointment_book(
            by=registrar.user,
            patient=clinic.patient,
            doctor=clinic.doctor,
            chair=clinic.chair1,
            start=start,
            end=start + datetime.timedelta(minutes=30),
            allow_outside_shift=True,
        )
    assert refused.value.code == "date_out_of_range"
    assert not Appointment.all_objects.exists()


def test_the_calendar_window_reaches_two_years_each_way(registrar, clinic):
    first, last = bounds.calendar_window()
    today = timezone.localdate()
    assert first == today - datetime.timedelta(days=732)
    assert last == today + datetime.timedelta(days=732)
    edge = datetime.datetime.combine(last, datetime.time(10), tzinfo=clinic.branch.zone)
    booked = services.appointment_book(
        by=registrar.user,
        patient=clinic.patient,
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=edge,
        end=edge + datetime.timedelta(minutes=30),
        allow_outside_shift=True,
    )
    assert booked.pk
    with pytest.raises(ValidationError):
        services.shift_create(
            by=registrar.user,
            doctor=clinic.doctor,
            chair=clinic.chair1,
            start=edge + datetime.timedelta(days=1),
            end=edge + datetime.timedelta(days=1, hours=2),
        )


# --- Ids that do not fit a column ---------------------------------------------------------


@pytest.mark.parametrize("value", [str(2**63), str(10**30), "²", "١٢", "-1", "0"])
def test_ids_from_the_query_that_are_no_ids_are_ignored_or_not_found(
    registrar_client, clinic, value
):
    response = registrar_client.get(
        reverse("calendar:appointment-create"),
        {"branch": clinic.branch.pk, "chair": value, "patient": value, "waitlist": value},
        **HTMX,
    )
    assert response.status_code == 200
    feed = registrar_client.get(
        reverse("calendar:feed-events"), {"branch": clinic.branch.pk, "profession": value}
    )
    assert feed.status_code == 200
    assert registrar_client.get(reverse("calendar:calendar"), {"branch": value}).status_code == 404


@pytest.mark.parametrize("services_param", [str(2**63), f"1,{10**30}", "²", "1,,a"])
def test_the_slot_api_refuses_service_ids_that_are_no_ids(registrar_client, clinic, services_param):
    response = registrar_client.get(
        "/api/v1/slots",
        {
            "branch": clinic.branch.pk,
            "services": services_param,
            "date_from": clinic.day.isoformat(),
            "date_to": clinic.day.isoformat(),
        },
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "services must be comma-separated ids"


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "0001-01-01", "date_to": "0001-01-02"},
        {"date_from": "9999-12-31", "date_to": "9999-12-31"},
        {"branch": str(2**63)},
        {"doctor": str(2**63)},
        {"profession": str(2**63)},
    ],
)
def test_the_slot_api_refuses_dates_and_ids_out_of_range(registrar_client, clinic, params):
    query = {
        "branch": clinic.branch.pk,
        "duration": 30,
        "date_from": clinic.day.isoformat(),
        "date_to": clinic.day.isoformat(),
        **params,
    }
    response = registrar_client.get("/api/v1/slots", query)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/json; charset=utf-8"


# --- Messages that say what is wrong ------------------------------------------------------


def test_a_shift_longer_than_12_hours_is_refused_as_a_shift(registrar_client, clinic):
    response = registrar_client.post(
        f"{reverse('calendar:shift-create')}?branch={clinic.branch.pk}",
        {
            "doctor": clinic.doctor.pk,
            "chair": clinic.chair2.pk,
            "pattern": "single",
            "date": (clinic.day + datetime.timedelta(days=1)).isoformat(),
            "time_from": "00:00",
            "time_to": "23:59",
        },
        **HTMX,
        **EN,
    )
    assert response.status_code == 422
    assert response.context["form"].errors["time_to"] == ["A shift cannot be longer than 12 hours."]


@translation.override("en")
def test_the_shift_service_speaks_of_a_shift(registrar, clinic):
    start = clinic.at(0, day=clinic.day + datetime.timedelta(days=1))
    with pytest.raises(ValidationError, match="A shift cannot be longer than 12 hours"):
        services.shift_create(
            by=registrar.user,
            doctor=clinic.doctor,
            chair=clinic.chair1,
            start=start,
            end=start + datetime.timedelta(hours=23, minutes=59),
        )
    with pytest.raises(ValidationError, match="The shift must end after it starts"):
        services.shift_create(
            by=registrar.user, doctor=clinic.doctor, chair=clinic.chair1, start=start, end=start
        )


@pytest.mark.parametrize("minutes", [0, 4, 721, 100_000])
def test_a_waiting_list_duration_out_of_bounds_gets_a_readable_error(
    registrar_client, clinic, minutes
):
    response = registrar_client.post(
        f"{reverse('calendar:waitlist-add')}?branch={clinic.branch.pk}",
        {"patient": clinic.patient.pk, "duration_minutes": minutes},
        **HTMX,
        **EN,
    )
    assert response.status_code == 422
    [error] = response.context["form"].errors["duration_minutes"]
    assert "waitlist_duration_positive" not in error
    assert "5" in error if minutes < 5 else "720" in error
    assert not WaitingListEntry.all_objects.exists()


@translation.override("en")
def test_the_waiting_list_service_bounds_the_duration_too(registrar, clinic):
    with pytest.raises(ValidationError) as refused:
        services.waitlist_add(
            by=registrar.user,
            data={"patient": clinic.patient, "branch": clinic.branch, "duration_minutes": 0},
        )
    assert refused.value.message_dict == {
        "duration_minutes": ["A visit lasts from 5 to 720 minutes."]
    }


def test_a_move_onto_a_chair_of_another_branch_says_so(
    registrar_client, clinic, booked, branch_elsewhere
):
    elsewhere = ChairFactory(branch=branch_elsewhere)
    shift = WorkShift.objects.get(doctor=clinic.doctor)
    for url in (
        reverse("calendar:appointment-move", args=[booked.pk]),
        reverse("calendar:shift-move", args=[shift.pk]),
    ):
        response = registrar_client.post(
            url,
            {
                "start": clinic.at(11).strftime("%Y-%m-%dT%H:%M:%S"),
                "end": clinic.at(11, 30).strftime("%Y-%m-%dT%H:%M:%S"),
                "chair": elsewhere.pk,
            },
            **EN,
        )
        assert response.status_code == 422
        assert response.json()["error"] == (
            f"This chair is in another branch; the calendar moves within {clinic.branch}."
        )
    booked.refresh_from_db()
    assert booked.chair == clinic.chair1


@pytest.mark.parametrize("chair", ["999999999", str(2**63), "x"])
def test_a_move_onto_a_chair_that_does_not_exist_says_so(registrar_client, clinic, booked, chair):
    response = registrar_client.post(
        reverse("calendar:appointment-move", args=[booked.pk]),
        {
            "start": clinic.at(11).strftime("%Y-%m-%dT%H:%M:%S"),
            "end": clinic.at(11, 30).strftime("%Y-%m-%dT%H:%M:%S"),
            "chair": chair,
        },
        **EN,
    )
    assert response.status_code == 422
    assert response.json()["error"] == "There is no such chair; reload the calendar."


def test_a_move_keeps_working_within_the_branch(registrar_client, clinic, booked):
    response = registrar_client.post(
        reverse("calendar:appointment-move", args=[booked.pk]),
        {
            "start": clinic.at(11).strftime("%Y-%m-%dT%H:%M:%S"),
            "end": clinic.at(11, 30).strftime("%Y-%m-%dT%H:%M:%S"),
            "chair": clinic.chair2.pk,
            "allow_outside_shift": "true",
        },
    )
    assert response.status_code == 200, response.content
    booked.refresh_from_db()
    assert (booked.chair, booked.start) == (clinic.chair2, clinic.at(11))


def test_a_refused_visit_edit_saves_nothing(registrar_client, clinic, booked):
    AppointmentFactory(
        patient=clinic.patient, doctor=clinic.doctor2, chair=clinic.chair2, start=clinic.at(13)
    )
    before = _counts()
    response = registrar_client.post(
        reverse("calendar:appointment-edit", args=[booked.pk]),
        _booking(clinic, clinic.day.isoformat(), chair=clinic.chair2.pk, time="13:00", note="new"),
        **HTMX,
    )
    assert response.status_code == 422  # the chair is taken at 13:00
    booked.refresh_from_db()
    assert booked.note == "" and _saved_nothing(before)
