import datetime
import json

import pytest
from django.urls import reverse

from calendar_app.api import SlotOut
from calendar_app.models import Appointment, StatusCode, WaitingListEntry, WorkShift
from clinic import live
from patients.tests.factories import PatientFactory

from .factories import AppointmentFactory, ServiceFactory, WorkShiftFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def feed(client, clinic, **params):
    query = {
        "branch": clinic.branch.pk,
        "start": clinic.day.isoformat(),
        "end": (clinic.day + datetime.timedelta(days=1)).isoformat(),
        **params,
    }
    return client.get(reverse("calendar:feed-events"), query)


def visit(clinic, hour, **kwargs):
    defaults = {
        "patient": clinic.patient,
        "doctor": clinic.doctor,
        "chair": clinic.chair1,
        "start": clinic.at(hour),
        "end": clinic.at(hour, 30),
    }
    defaults.update(kwargs)
    return AppointmentFactory(**defaults)


# --- Page and feeds --------------------------------------------------------------------


def test_the_calendar_page_carries_its_branch_config(registrar_client, clinic):
    response = registrar_client.get(reverse("calendar:calendar"), {"date": clinic.day.isoformat()})
    assert response.status_code == 200
    config = response.context["config"]
    assert config["branch"] == clinic.branch.pk and config["date"] == clinic.day.isoformat()
    assert config["slotMinTime"] == "09:00" and config["canChange"] is True
    assert {s["code"] for s in config["statuses"]} >= {"planned", "completed", "no_show"}


def test_the_calendar_needs_the_calendar_right(accountant, client, clinic):
    client.force_login(accountant.user)
    assert client.get(reverse("calendar:calendar")).status_code == 403
    assert client.get(reverse("calendar:feed-events")).status_code == 403


def test_a_branch_outside_the_users_branches_is_not_found(registrar_client, branch_elsewhere):
    assert (
        registrar_client.get(
            reverse("calendar:calendar"), {"branch": branch_elsewhere.pk}
        ).status_code
        == 404
    )
    assert (
        registrar_client.get(
            reverse("calendar:feed-resources"), {"branch": branch_elsewhere.pk}
        ).status_code
        == 404
    )


def test_resources_are_the_branchs_chairs_in_order(registrar_client, clinic):
    response = registrar_client.get(
        reverse("calendar:feed-resources"), {"branch": clinic.branch.pk}
    )
    assert response.json() == [
        {"id": clinic.chair1.pk, "title": "Кресло 1"},
        {"id": clinic.chair2.pk, "title": "Кресло 2"},
    ]


def test_the_feed_has_visits_in_local_time_and_shifts_as_background(registrar_client, clinic):
    booked = visit(clinic, 10, status=StatusCode.CONFIRMED)
    visit(clinic, 11, status=StatusCode.CANCELLED)
    events = feed(registrar_client, clinic).json()
    visits = [e for e in events if e["extendedProps"]["kind"] == "appointment"]
    assert [e["id"] for e in visits] == [f"a{booked.pk}"]
    assert visits[0]["start"] == f"{clinic.day.isoformat()}T10:00:00"
    assert visits[0]["resourceId"] == clinic.chair1.pk and visits[0]["editable"] is True
    assert visits[0]["extendedProps"]["patientId"] == clinic.patient.pk
    backgrounds = [e for e in events if e.get("display") == "background"]
    assert len(backgrounds) == 2


def test_the_doctors_mode_returns_editable_shifts(registrar_client, clinic):
    events = feed(registrar_client, clinic, mode="doctors").json()
    assert {e["extendedProps"]["kind"] for e in events} == {"shift"}
    assert all(e["editable"] for e in events)


def test_a_read_only_user_gets_read_only_events(doctor_client, clinic):
    visit(clinic, 10)
    events = feed(doctor_client, clinic).json()
    assert not any(e.get("editable") for e in events)


def test_the_profession_filter_keeps_only_its_doctors(registrar_client, clinic):
    visit(clinic, 10)
    visit(clinic, 13, doctor=clinic.doctor2, chair=clinic.chair2)
    surgeon = clinic.doctor2.professions.get()
    events = feed(registrar_client, clinic, profession=surgeon.pk).json()
    doctors = {
        e["extendedProps"].get("doctor")
        for e in events
        if e["extendedProps"]["kind"] == "appointment"
    }
    assert doctors == {clinic.doctor2.short_name}


def test_the_feed_refuses_a_range_over_six_weeks(registrar_client, clinic):
    response = registrar_client.get(
        reverse("calendar:feed-events"),
        {"branch": clinic.branch.pk, "start": "2026-01-01", "end": "2026-03-01"},
    )
    assert response.status_code == 400


def test_the_feeds_query_count_does_not_grow_with_visits(
    registrar_client, clinic, django_assert_max_num_queries
):
    visit(clinic, 9)
    with django_assert_max_num_queries(20) as few:
        feed(registrar_client, clinic)
    for hour in range(10, 15):
        visit(clinic, hour, patient=PatientFactory())
        visit(
            clinic, hour + 3, patient=PatientFactory(), doctor=clinic.doctor2, chair=clinic.chair2
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        events = feed(registrar_client, clinic).json()
    assert len([e for e in events if e["extendedProps"]["kind"] == "appointment"]) == 11


# --- Booking dialog --------------------------------------------------------------------


def booking_data(clinic, **overrides):
    data = {
        "patient": clinic.patient.pk,
        "doctor": clinic.doctor.pk,
        "chair": clinic.chair1.pk,
        "date": clinic.day.isoformat(),
        "time": "10:00",
        "duration_minutes": 30,
    }
    data.update(overrides)
    return data


def create_url(clinic):
    return f"{reverse('calendar:appointment-create')}?branch={clinic.branch.pk}"


def test_the_booking_dialog_is_prefilled_from_the_drag(registrar_client, clinic):
    response = registrar_client.get(
        create_url(clinic),
        {
            "chair": clinic.chair1.pk,
            "start": f"{clinic.day}T10:00:00",
            "end": f"{clinic.day}T10:45:00",
        },
        **HTMX,
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["duration_minutes"] == 45
    assert form.initial["doctor"] == clinic.doctor.pk  # the doctor on shift on that chair
    assert form.initial["time"] == datetime.time(10)
    # The chair and doctor selects list the branch's own, the dragged ones chosen.
    html = response.content.decode()
    chair = f'<option value="{clinic.chair1.pk}" selected>Кресло 1</option>'
    assert chair in html and f'<option value="{clinic.chair2.pk}">Кресло 2</option>' in html
    assert f'<option value="{clinic.doctor.pk}" selected>{clinic.doctor}</option>' in html
    assert f'<option value="{clinic.doctor2.pk}">{clinic.doctor2}</option>' in html


def test_the_booking_dialog_never_lists_every_patient(registrar_client, clinic):
    PatientFactory.create_batch(5)
    response = registrar_client.get(create_url(clinic), HTMX)
    assert response.content.decode().count("data-patient-picker") == 1
    assert len(response.context["form"].fields["patient"].widget.choices) == 1


def test_booking_through_the_dialog_closes_it_and_refreshes(registrar_client, clinic):
    service = ServiceFactory()
    response = registrar_client.post(
        create_url(clinic), booking_data(clinic, services=[service.pk]), **HTMX
    )
    assert response.status_code == 204
    trigger = json.loads(response["HX-Trigger"])
    assert trigger["closeDialog"] and trigger["calendarChanged"]
    assert trigger["toasts"][0]["level"] == "success"
    booked = Appointment.objects.get()
    assert booked.start == clinic.at(10) and booked.end == clinic.at(10, 30)
    assert list(booked.service_lines.values_list("service", flat=True)) == [service.pk]


def test_booking_a_taken_time_explains_and_suggests_free_times(registrar_client, clinic):
    visit(clinic, 10)
    response = registrar_client.post(
        create_url(clinic), booking_data(clinic, patient=PatientFactory().pk), **HTMX
    )
    assert response.status_code == 422
    assert response.context["form"].non_field_errors()
    assert response.context["suggestions"]
    assert Appointment.objects.count() == 1


def test_booking_outside_the_shift_asks_then_books(registrar_client, clinic):
    response = registrar_client.post(create_url(clinic), booking_data(clinic, time="17:00"), **HTMX)
    assert response.status_code == 422 and response.context["outside_shift"]
    assert not Appointment.objects.exists()
    response = registrar_client.post(
        create_url(clinic), booking_data(clinic, time="17:00", allow_outside_shift="true"), **HTMX
    )
    assert response.status_code == 204
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize("bad", ["999999999", "abc", "9" * 30, "-1"])
def test_a_service_that_is_not_in_the_price_list_is_refused_by_name(registrar_client, clinic, bad):
    known = ServiceFactory()
    response = registrar_client.post(
        create_url(clinic), booking_data(clinic, services=[known.pk, bad]), **HTMX
    )
    assert response.status_code == 422
    assert list(response.context["form"].errors) == ["services"]
    assert not Appointment.objects.exists()


def test_chosen_services_are_booked_in_the_price_lists_order(registrar_client, clinic):
    second, first = ServiceFactory(position=2), ServiceFactory(position=1)
    response = registrar_client.post(
        create_url(clinic), booking_data(clinic, services=[second.pk, first.pk]), **HTMX
    )
    assert response.status_code == 204
    lines = Appointment.objects.get().service_lines.order_by("pk")
    assert list(lines.values_list("service", flat=True)) == [first.pk, second.pk]


def test_booking_validation_errors_are_shown(registrar_client, clinic):
    response = registrar_client.post(
        create_url(clinic), booking_data(clinic, patient="", duration_minutes=0), **HTMX
    )
    assert response.status_code == 422
    assert set(response.context["form"].errors) == {"patient", "duration_minutes"}


def test_booking_needs_the_change_right(doctor_client, clinic):
    assert doctor_client.post(create_url(clinic), booking_data(clinic)).status_code == 403
    assert not Appointment.objects.exists()


def test_booking_from_the_waiting_list(registrar_client, clinic):
    entry = WaitingListEntry.objects.create(
        patient=clinic.patient, branch=clinic.branch, duration_minutes=45
    )
    response = registrar_client.get(create_url(clinic), {"waitlist": entry.pk}, **HTMX)
    assert response.context["form"].initial["duration_minutes"] == 45
    response = registrar_client.post(
        create_url(clinic), booking_data(clinic, waitlist=entry.pk, duration_minutes=45), **HTMX
    )
    assert response.status_code == 204
    entry.refresh_from_db()
    assert entry.status == "booked"


# --- Drag, status, cancel, delete ------------------------------------------------------


def move_url(appointment):
    return reverse("calendar:appointment-move", args=[appointment.pk])


def test_dragging_to_another_chair_moves_the_visit(registrar_client, clinic):
    booked = visit(clinic, 13)
    response = registrar_client.post(
        move_url(booked),
        {
            "start": f"{clinic.day}T13:00:00",
            "end": f"{clinic.day}T13:30:00",
            "chair": clinic.chair2.pk,
            "allow_outside_shift": "true",
        },
    )
    assert response.status_code == 200 and response.json() == {"ok": True}
    booked.refresh_from_db()
    assert booked.chair == clinic.chair2


def test_a_conflicting_drop_answers_409_and_changes_nothing(registrar_client, clinic):
    booked = visit(clinic, 10)
    visit(clinic, 11, patient=PatientFactory())
    response = registrar_client.post(
        move_url(booked), {"start": f"{clinic.day}T11:00:00", "end": f"{clinic.day}T11:30:00"}
    )
    assert response.status_code == 409 and response.json()["code"] == "taken"
    booked.refresh_from_db()
    assert booked.start == clinic.at(10)


def test_a_drop_outside_the_shift_asks_for_confirmation(registrar_client, clinic):
    booked = visit(clinic, 10)
    data = {"start": f"{clinic.day}T16:00:00", "end": f"{clinic.day}T16:30:00"}
    response = registrar_client.post(move_url(booked), data)
    assert response.status_code == 409 and response.json()["code"] == "outside_shift"
    response = registrar_client.post(move_url(booked), {**data, "allow_outside_shift": "true"})
    assert response.status_code == 200


def test_a_garbled_drop_is_refused_clearly(registrar_client, clinic):
    booked = visit(clinic, 10)
    response = registrar_client.post(move_url(booked), {"start": "yesterday", "end": ""})
    assert response.status_code == 422 and response.json()["error"]


def test_moving_needs_post_and_the_change_right(registrar_client, doctor_client, clinic):
    booked = visit(clinic, 10)
    assert registrar_client.get(move_url(booked)).status_code == 405
    assert doctor_client.post(move_url(booked), {}).status_code == 403


def test_the_context_menu_status_change(registrar_client, clinic):
    booked = visit(clinic, 10)
    url = reverse("calendar:appointment-status", args=[booked.pk])
    assert registrar_client.post(url, {"status": "arrived"}).status_code == 200
    booked.refresh_from_db()
    assert booked.status == "arrived"
    assert registrar_client.post(url, {"status": "nonsense"}).status_code == 422


def test_cancelling_needs_a_reason(registrar_client, clinic):
    booked = visit(clinic, 10)
    url = reverse("calendar:appointment-cancel", args=[booked.pk])
    assert registrar_client.get(url, **HTMX).status_code == 200
    assert registrar_client.post(url, {"reason": ""}, **HTMX).status_code == 422
    response = registrar_client.post(url, {"reason": "Пациент заболел"}, **HTMX)
    assert response.status_code == 204
    booked.refresh_from_db()
    assert booked.status == StatusCode.CANCELLED


def test_deleting_offers_an_undo(registrar_client, clinic):
    booked = visit(clinic, 10)
    response = registrar_client.post(
        reverse("calendar:appointment-delete", args=[booked.pk]), **HTMX
    )
    assert response.status_code == 204
    toast = json.loads(response["HX-Trigger"])["toasts"][0]
    assert toast["undo"] == reverse("clinic:trash-restore", args=["appointments", booked.pk])
    assert not Appointment.objects.filter(pk=booked.pk).exists()


def test_the_move_patient_dialog_offers_the_doctors_free_times(registrar_client, clinic):
    booked = visit(clinic, 10)
    url = reverse("calendar:appointment-reschedule", args=[booked.pk])
    response = registrar_client.get(url, **HTMX)
    assert response.status_code == 200 and response.context["slots"]
    tuesday = clinic.day + datetime.timedelta(days=1)
    WorkShiftFactory(
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(9, day=tuesday),
        end=clinic.at(15, day=tuesday),
    )
    response = registrar_client.post(
        url,
        {
            "date": tuesday.isoformat(),
            "time": "11:00",
            "doctor": clinic.doctor.pk,
            "chair": clinic.chair1.pk,
        },
        **HTMX,
    )
    assert response.status_code == 204
    booked.refresh_from_db()
    assert booked.start == clinic.at(11, day=tuesday)


def test_the_detail_dialog_shows_the_visit(registrar_client, clinic):
    booked = visit(clinic, 10)
    response = registrar_client.get(
        reverse("calendar:appointment-detail", args=[booked.pk]), **HTMX
    )
    assert response.status_code == 200
    assert clinic.patient.full_name in response.content.decode()


def test_a_visit_of_another_branch_is_not_found(registrar_client, branch_elsewhere):
    from clinic.tests.factories import ChairFactory, EmployeeFactory

    chair = ChairFactory(branch=branch_elsewhere)
    start = datetime.datetime(2030, 1, 7, 10, tzinfo=datetime.UTC)
    other = AppointmentFactory(
        patient=PatientFactory(),
        doctor=EmployeeFactory(branches=[branch_elsewhere]),
        chair=chair,
        start=start,
    )
    assert (
        registrar_client.get(reverse("calendar:appointment-detail", args=[other.pk])).status_code
        == 404
    )


# --- Shifts and waiting list -----------------------------------------------------------


def test_adding_a_schedule_on_weekdays(registrar_client, clinic):
    url = f"{reverse('calendar:shift-create')}?branch={clinic.branch.pk}"
    start = clinic.day + datetime.timedelta(days=7)
    response = registrar_client.post(
        url,
        {
            "doctor": clinic.doctor2.pk,
            "chair": clinic.chair2.pk,
            "pattern": "weekdays",
            "date": start.isoformat(),
            "date_to": (start + datetime.timedelta(days=13)).isoformat(),
            "weekdays": [0, 2, 4],
            "time_from": "09:00",
            "time_to": "11:00",
        },
        **HTMX,
    )
    assert response.status_code == 204
    new = WorkShift.objects.filter(doctor=clinic.doctor2, start__date__gte=start)
    assert sorted({s.start.astimezone(clinic.branch.zone).weekday() for s in new}) == [0, 2, 4]
    assert new.count() == 6


def test_a_schedule_needs_a_range_for_patterns(registrar_client, clinic):
    url = f"{reverse('calendar:shift-create')}?branch={clinic.branch.pk}"
    response = registrar_client.post(
        url,
        {
            "doctor": clinic.doctor2.pk,
            "chair": clinic.chair2.pk,
            "pattern": "every_other",
            "date": clinic.day.isoformat(),
            "time_from": "18:00",
            "time_to": "17:00",
        },
        **HTMX,
    )
    assert response.status_code == 422
    assert set(response.context["form"].errors) == {"date_to", "time_to"}


def test_dragging_a_shift_onto_another_doctors_chair_is_refused(registrar_client, clinic):
    shift = WorkShift.objects.get(doctor=clinic.doctor2)
    response = registrar_client.post(
        reverse("calendar:shift-move", args=[shift.pk]),
        {
            "start": f"{clinic.day}T10:00:00",
            "end": f"{clinic.day}T16:00:00",
            "chair": clinic.chair1.pk,
        },
    )
    assert response.status_code == 409


def test_the_waiting_list_suggests_matching_slots(registrar_client, clinic):
    WaitingListEntry.objects.create(
        patient=clinic.patient,
        branch=clinic.branch,
        doctor=clinic.doctor,
        duration_minutes=60,
        preferred_weekdays=[clinic.day.weekday()],
    )
    response = registrar_client.get(
        reverse("calendar:waitlist"), {"branch": clinic.branch.pk}, **HTMX
    )
    html = response.content.decode()
    assert html.count("data-waitlist-slot") == 3
    assert html.count(f"start={clinic.day.isoformat()}T") == 3  # all on the preferred weekday


def test_the_waiting_lists_query_count_does_not_grow_with_entries(
    registrar_client, clinic, django_assert_max_num_queries
):
    def entry(**wanted):
        return WaitingListEntry.objects.create(
            patient=PatientFactory(), branch=clinic.branch, duration_minutes=30, **wanted
        )

    def panel():
        response = registrar_client.get(
            reverse("calendar:waitlist"), {"branch": clinic.branch.pk}, **HTMX
        )
        return response.content.decode()

    entry(doctor=clinic.doctor)
    with django_assert_max_num_queries(30) as few:
        panel()
    surgeon = clinic.doctor2.professions.get()
    for _ in range(3):
        entry(doctor=clinic.doctor)
        entry(profession=surgeon)
        entry()
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = panel()
    assert html.count("data-waitlist-slot") == 10 * 3


def test_adding_and_removing_a_waiting_list_entry(registrar_client, clinic):
    url = f"{reverse('calendar:waitlist-add')}?branch={clinic.branch.pk}"
    response = registrar_client.post(
        url,
        {
            "patient": clinic.patient.pk,
            "duration_minutes": 30,
            "preferred_weekdays": [1, 3],
            "comment": "после 18",
        },
        **HTMX,
    )
    assert response.status_code == 204
    entry = WaitingListEntry.objects.get()
    assert entry.preferred_weekdays == [1, 3]
    response = registrar_client.post(reverse("calendar:waitlist-remove", args=[entry.pk]), **HTMX)
    assert response.status_code == 204
    assert not WaitingListEntry.objects.exists()


# --- Doctor's schedule -----------------------------------------------------------------


@pytest.fixture
def own_doctor_client(client, doctor, clinic):
    client.force_login(doctor.user)
    return client


def test_a_doctor_sees_only_their_own_day(own_doctor_client, doctor, clinic):
    doctor.employee.branches.set([clinic.branch])
    mine = visit(clinic, 10, doctor=doctor.employee, chair=clinic.chair2)
    visit(clinic, 11)
    response = own_doctor_client.get(reverse("schedule:day"), {"date": clinic.day.isoformat()})
    assert response.status_code == 200
    assert [v.pk for v, _steps in response.context["visits"]] == [mine.pk]


def test_one_tap_moves_the_visit_forward(own_doctor_client, doctor, clinic):
    doctor.employee.branches.set([clinic.branch])
    mine = visit(clinic, 10, doctor=doctor.employee, chair=clinic.chair2)
    url = reverse("schedule:status", args=[mine.pk])
    assert own_doctor_client.post(url, {"status": "completed"}).status_code == 409
    for step in ("arrived", "in_chair", "completed"):
        response = own_doctor_client.post(url, {"status": step})
        assert response.status_code == 204 and response["HX-Trigger"] == "scheduleChanged"
    mine.refresh_from_db()
    assert mine.status == "completed"


def test_a_doctor_cannot_tap_another_doctors_visit(own_doctor_client, clinic):
    other = visit(clinic, 10)
    assert (
        own_doctor_client.post(
            reverse("schedule:status", args=[other.pk]), {"status": "arrived"}
        ).status_code
        == 404
    )


def test_the_schedule_needs_its_right(registrar_client):
    assert registrar_client.get(reverse("schedule:day")).status_code == 403


# --- Slots API -------------------------------------------------------------------------


def test_the_slots_api_for_a_doctor(registrar_client, clinic):
    response = registrar_client.get(
        "/api/v1/slots",
        {
            "doctor": clinic.doctor.pk,
            "duration": 60,
            "date_from": clinic.day,
            "date_to": clinic.day,
        },
    )
    assert response.status_code == 200
    slots = response.json()
    assert slots[0]["start"] == f"{clinic.day}T09:00:00+03:00"
    assert {s["chair_id"] for s in slots} == {clinic.chair1.pk}
    # The body is built by hand for speed: it must still be what the schema documents.
    assert all(set(s) == set(SlotOut.model_fields) for s in slots)
    assert [SlotOut.model_validate(s).doctor_id for s in slots] == [clinic.doctor.pk] * len(slots)


def test_the_slots_api_sums_service_durations(registrar_client, clinic):
    first, second = ServiceFactory(duration_minutes=45), ServiceFactory(duration_minutes=45)
    response = registrar_client.get(
        "/api/v1/slots",
        {
            "branch": clinic.branch.pk,
            "services": f"{first.pk},{second.pk}",
            "date_from": clinic.day,
            "date_to": clinic.day,
        },
    )
    slot = response.json()[0]
    start = datetime.datetime.fromisoformat(slot["start"])
    assert datetime.datetime.fromisoformat(slot["end"]) - start == datetime.timedelta(minutes=90)


@pytest.mark.parametrize(
    "params",
    [
        {"duration": 30, "date_from": "2030-01-01", "date_to": "2030-01-01"},
        {"branch": 0, "date_from": "2030-01-01", "date_to": "2030-01-01"},
        {"branch": 0, "duration": 30, "date_from": "2030-01-10", "date_to": "2030-01-01"},
        {"branch": 0, "duration": 30, "date_from": "2030-01-01", "date_to": "2030-03-01"},
        {"branch": 0, "services": "a,b", "date_from": "2030-01-01", "date_to": "2030-01-01"},
    ],
)
def test_the_slots_api_explains_bad_queries(registrar_client, clinic, params):
    params = {k: (clinic.branch.pk if k == "branch" else v) for k, v in params.items()}
    assert registrar_client.get("/api/v1/slots", params).status_code == 422


def test_the_slots_api_hides_other_branches(registrar_client, clinic, branch_elsewhere):
    response = registrar_client.get(
        "/api/v1/slots",
        {
            "branch": branch_elsewhere.pk,
            "duration": 30,
            "date_from": clinic.day,
            "date_to": clinic.day,
        },
    )
    assert response.status_code == 404


def test_the_slots_api_needs_a_session(client, clinic):
    assert client.get("/api/v1/slots").status_code == 401


def test_the_slots_api_is_in_the_openapi_schema(registrar_client):
    schema = registrar_client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/slots"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {
        "branch",
        "doctor",
        "profession",
        "duration",
        "services",
        "date_from",
        "date_to",
    } <= names


# --- Live topics -----------------------------------------------------------------------


def test_only_users_of_the_branch_may_listen_to_its_calendar(registrar, doctor_elsewhere, clinic):
    topic = f"calendar.{clinic.branch.pk}.{clinic.day.isoformat()}"
    assert live.may_listen(registrar.user, topic)
    assert not live.may_listen(doctor_elsewhere.user, topic)
    assert not live.may_listen(registrar.user, f"calendar.{clinic.branch.pk}.not-a-date")
