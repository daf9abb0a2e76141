"""The "find a time" screen (/calendar/find/): the search form, the times grouped by day and
doctor, the cap per doctor-day, the links into the booking dialog, access and query count."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils.translation import gettext as _

from calendar_app import views_find
from calendar_app.forms import FindTimeForm
from clinic.models import ProfessionKind
from clinic.tests.factories import ChairFactory, EmployeeFactory
from patients.tests.factories import PatientFactory

from .factories import AppointmentFactory, ServiceFactory, WorkShiftFactory

HTMX = {"HTTP_HX_REQUEST": "true"}
URL = "/calendar/find/"


def find(client, clinic, headers=None, **params):
    query = {"date_from": clinic.day.isoformat(), "date_to": clinic.day.isoformat(), **params}
    return client.get(URL, query, **(headers or {}))


def shown(response) -> dict:
    """{date: {doctor id: ["09:00", ...]}} of the found times."""
    return {
        day.date: {
            group.doctor.pk: [start.strftime("%H:%M") for start, _chair, _url in group.times]
            for group in day.doctors
        }
        for day in response.context["found"].days
    }


def therapist_of(clinic):
    return clinic.doctor.professions.get()


# --- Searching -------------------------------------------------------------------------


def test_morning_times_of_a_profession_are_grouped_by_day_and_doctor(registrar_client, clinic):
    response = find(
        registrar_client,
        clinic,
        duration=30,
        profession=therapist_of(clinic).pk,
        part_of_day="morning",
    )
    assert response.status_code == 200
    # Only the therapist (the surgeon works from 12:00); the first eight of the morning.
    times = shown(response)
    assert times == {
        clinic.day: {
            clinic.doctor.pk: [
                "09:00",
                "09:15",
                "09:30",
                "09:45",
                "10:00",
                "10:15",
                "10:30",
                "10:45",
            ]
        }
    }
    group = response.context["found"].days[0].doctors[0]
    assert group.branch == clinic.branch and [c.pk for c in group.chairs] == [clinic.chair1.pk]
    html = response.content.decode()
    assert f'data-find-day="{clinic.day.isoformat()}"' in html
    assert f'data-find-doctor="{clinic.doctor.pk}"' in html and "data-find-more" in html


def test_more_opens_the_doctors_whole_day(registrar_client, clinic):
    response = find(
        registrar_client,
        clinic,
        duration=30,
        profession=therapist_of(clinic).pk,
        part_of_day="morning",
    )
    more = response.context["found"].days[0].doctors[0].more_url
    query = parse_qs(urlsplit(more).query)
    assert query["doctor"] == [str(clinic.doctor.pk)] and query.get("profession", [""]) == [""]
    day = registrar_client.get(more)
    assert day.status_code == 200
    # The whole visit lies within the morning: the last start is 11:30.
    assert shown(day)[clinic.day][clinic.doctor.pk][-1] == "11:30"
    assert len(shown(day)[clinic.day][clinic.doctor.pk]) == 11
    assert day.context["found"].days[0].doctors[0].more_url == ""


def test_anyone_in_the_afternoon_lists_every_doctor_free_then(registrar_client, clinic):
    AppointmentFactory(
        patient=clinic.patient,
        doctor=clinic.doctor2,
        chair=clinic.chair2,
        start=clinic.at(12),
        end=clinic.at(13),
    )
    response = find(registrar_client, clinic, duration=60, part_of_day="afternoon")
    times = shown(response)[clinic.day]
    assert times[clinic.doctor.pk][:2] == ["12:00", "12:15"]
    # The surgeon is busy until 13:00.
    assert times[clinic.doctor2.pk][:2] == ["13:00", "13:15"]
    # Eight each: the first of their afternoon.
    assert [len(group) for group in times.values()] == [8, 8]


def test_hours_take_the_place_of_the_part_of_the_day(registrar_client, clinic):
    response = find(
        registrar_client,
        clinic,
        duration=30,
        part_of_day="morning",
        hours_from="14:00",
        hours_to="15:00",
        doctor=clinic.doctor.pk,
    )
    assert shown(response) == {clinic.day: {clinic.doctor.pk: ["14:00", "14:15", "14:30"]}}
    assert response.context["form"].cleaned_data["part_of_day"] == FindTimeForm.HOURS


def test_the_services_durations_add_up(registrar_client, clinic):
    exam, cleaning = ServiceFactory(duration_minutes=30), ServiceFactory(duration_minutes=20)
    response = find(
        registrar_client, clinic, services=[exam.pk, cleaning.pk], doctor=clinic.doctor.pk
    )
    assert response.context["found"].duration == 50
    assert shown(response)[clinic.day][clinic.doctor.pk][0] == "09:00"


def test_a_typed_duration_wins_over_the_services(registrar_client, clinic):
    exam = ServiceFactory(duration_minutes=30)
    response = find(registrar_client, clinic, services=[exam.pk], duration=90)
    assert response.context["found"].duration == 90


def test_without_dates_the_coming_week_is_searched_and_shown(registrar_client, clinic):
    response = registrar_client.get(URL, {"duration": 30})
    assert response.status_code == 200
    form = response.context["form"]
    first, last = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    assert (last - first).days == 6
    assert f'value="{first.isoformat()}"' in response.content.decode()


def test_the_page_without_a_search_only_offers_the_form(registrar_client, clinic):
    response = registrar_client.get(URL)
    assert response.status_code == 200
    assert response.context["found"] is None and not response.context["form"].is_bound
    assert "data-find-hint" in response.content.decode()


def test_a_wide_search_pages_by_days(registrar_client, clinic, monkeypatch):
    tuesday = clinic.day + datetime.timedelta(days=1)
    WorkShiftFactory(
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(9, day=tuesday),
        end=clinic.at(12, day=tuesday),
    )
    monkeypatch.setattr(views_find, "DOCTOR_DAYS_PER_PAGE", 2)
    response = find(registrar_client, clinic, duration=30, date_to=tuesday.isoformat())
    assert list(shown(response)) == [clinic.day]  # two doctors on Monday fill the page
    later = response.context["found"].later_url
    assert parse_qs(urlsplit(later).query)["date_from"] == [tuesday.isoformat()]
    assert list(shown(registrar_client.get(later))) == [tuesday]


def test_nothing_found_says_so(registrar_client, clinic):
    response = find(
        registrar_client, clinic, duration=30, part_of_day="evening", doctor=clinic.doctor.pk
    )
    assert response.status_code == 200
    assert shown(response) == {} and "data-find-nothing" in response.content.decode()


# --- Refused searches -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({}, "duration", "Choose services or give the visit's length."),
        ({"duration": 30, "date_to": "yesterday"}, "date_to", "The last day is before the first."),
        (
            {"duration": 30, "hours_from": "15:00", "hours_to": "14:00"},
            "hours_to",
            "The time range ends before it starts.",
        ),
        (
            {"duration": 30, "part_of_day": "hours"},
            "hours_from",
            "Give the hours, or choose a part of the day.",
        ),
    ],
)
def test_a_wrong_search_is_explained(registrar_client, clinic, params, field, message):
    if params.get("date_to") == "yesterday":
        params["date_to"] = (clinic.day - datetime.timedelta(days=1)).isoformat()
    response = find(registrar_client, clinic, **params)
    assert response.status_code == 422
    assert response.context["found"] is None
    assert _(message) in response.context["form"].errors[field]


def test_a_doctor_and_a_profession_together_are_refused(registrar_client, clinic):
    response = find(
        registrar_client,
        clinic,
        duration=30,
        doctor=clinic.doctor.pk,
        profession=therapist_of(clinic).pk,
    )
    assert response.status_code == 422
    assert (
        _("Choose a doctor or a profession, not both.")
        in response.context["form"].errors["profession"]
    )


def test_more_than_31_days_is_refused(registrar_client, clinic):
    response = find(
        registrar_client,
        clinic,
        duration=30,
        date_to=(clinic.day + datetime.timedelta(days=31)).isoformat(),
    )
    assert response.status_code == 422
    assert (
        _("Search at most %(days)s days at once.") % {"days": 31}
        in response.context["form"].errors["date_to"]
    )
    assert (
        find(
            registrar_client,
            clinic,
            duration=30,
            date_to=(clinic.day + datetime.timedelta(days=30)).isoformat(),
        ).status_code
        == 200
    )


@pytest.mark.parametrize("far", ["0001-01-01", "9999-12-31"])
def test_far_dates_are_refused_with_a_message(registrar_client, clinic, far):
    response = registrar_client.get(URL, {"duration": 30, "date_from": far})
    assert response.status_code == 422
    assert response.context["form"].has_error("date_from", "date_out_of_range")


def test_services_longer_than_a_visit_are_refused(registrar_client, clinic):
    long_ones = [ServiceFactory(duration_minutes=400).pk, ServiceFactory(duration_minutes=400).pk]
    response = find(registrar_client, clinic, services=long_ones)
    assert response.status_code == 422 and response.context["form"].has_error("duration")


# --- Booking from a found time ----------------------------------------------------------


def test_a_found_time_opens_the_booking_dialog_filled_in(registrar_client, clinic):
    exam, cleaning = ServiceFactory(duration_minutes=30), ServiceFactory(duration_minutes=20)
    response = find(
        registrar_client,
        clinic,
        services=[exam.pk, cleaning.pk],
        doctor=clinic.doctor.pk,
        patient=clinic.patient.pk,
    )
    *_start_and_chair, url = response.context["found"].days[0].doctors[0].times[0]
    assert f'data-dialog-url="{url.replace("&", "&amp;")}"' in response.content.decode()
    dialog = registrar_client.get(url, **HTMX)
    assert dialog.status_code == 200
    initial = dialog.context["form"].initial
    assert initial["doctor"] == clinic.doctor.pk and initial["chair"] == clinic.chair1.pk
    assert initial["date"] == clinic.day and initial["time"] == datetime.time(9, 0)
    assert initial["duration_minutes"] == 50
    assert initial["services"] == [exam.pk, cleaning.pk]
    assert initial["patient"] == clinic.patient.pk
    assert dialog.context["branch"] == clinic.branch


def test_the_booking_dialog_ignores_a_garbled_services_list(registrar_client, clinic):
    url = reverse("calendar:appointment-create")
    response = registrar_client.get(url, {"branch": clinic.branch.pk, "services": "1,x,²"}, **HTMX)
    assert response.status_code == 200 and "services" not in response.context["form"].initial


def test_the_patient_asked_for_is_named(registrar_client, clinic):
    patient = PatientFactory(last_name="Искомова")
    response = registrar_client.get(URL, {"patient": patient.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-find-patient="{patient.pk}"' in html and patient.full_name in html
    assert f'name="patient" value="{patient.pk}"' in html


@pytest.mark.parametrize("bad", ["0", "x", str(2**63), "999999"])
def test_an_unknown_patient_is_not_found(registrar_client, clinic, bad):
    assert registrar_client.get(URL, {"patient": bad}).status_code == 404


def test_an_htmx_refresh_answers_the_results_only(registrar_client, clinic):
    response = find(registrar_client, clinic, HTMX, duration=30, doctor=clinic.doctor.pk)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="find-results"') and "<html" not in html
    assert 'hx-trigger="calendarChanged from:body"' in html


def test_the_calendar_links_to_the_screen(registrar_client, clinic):
    html = registrar_client.get(reverse("calendar:calendar")).content.decode()
    assert f'href="{URL}"' in html and "data-find-time-link" in html


# --- Access ----------------------------------------------------------------------------


def test_who_cannot_book_cannot_open_it(client, clinic, doctor, accountant):
    for persona in (doctor, accountant):
        client.force_login(persona.user)
        assert client.get(URL).status_code == 403


def test_only_get_is_allowed(registrar_client, clinic):
    assert registrar_client.post(URL).status_code == 405


def test_a_branch_or_a_doctor_of_another_branch_is_not_found(
    registrar_client, clinic, branch_elsewhere
):
    stranger = EmployeeFactory(last_name="Чужой", branches=[branch_elsewhere])
    assert (
        find(registrar_client, clinic, duration=30, branch=branch_elsewhere.pk).status_code == 404
    )
    assert find(registrar_client, clinic, duration=30, doctor=stranger.pk).status_code == 404


def test_anyone_means_the_users_branches_only(registrar_client, clinic, branch_elsewhere):
    """A doctor who also works in another branch shows only the times of the user's."""
    elsewhere_chair = ChairFactory(branch=branch_elsewhere)
    clinic.doctor.branches.add(branch_elsewhere)
    stranger = EmployeeFactory(branches=[branch_elsewhere], kind=ProfessionKind.DOCTOR)
    tuesday = clinic.day + datetime.timedelta(days=1)
    WorkShiftFactory(doctor=stranger, chair=elsewhere_chair, start=clinic.at(9), end=clinic.at(12))
    WorkShiftFactory(
        doctor=clinic.doctor,
        chair=elsewhere_chair,
        start=clinic.at(9, day=tuesday),
        end=clinic.at(12, day=tuesday),
    )
    response = find(registrar_client, clinic, duration=30, date_to=tuesday.isoformat())
    times = shown(response)
    assert list(times) == [clinic.day]
    assert set(times[clinic.day]) == {clinic.doctor.pk, clinic.doctor2.pk}
    assert branch_elsewhere.name not in response.content.decode()


def test_the_query_count_does_not_grow_with_doctors_days_and_times(
    registrar_client, clinic, django_assert_max_num_queries
):
    services = [ServiceFactory().pk, ServiceFactory().pk]
    params = {
        "services": services,
        "patient": clinic.patient.pk,
        "date_to": (clinic.day + datetime.timedelta(days=6)).isoformat(),
    }
    with django_assert_max_num_queries(25) as few:
        find(registrar_client, clinic, **params)
    for n in range(8):
        chair = ChairFactory(branch=clinic.branch)
        doctor = EmployeeFactory(branches=[clinic.branch], kind=ProfessionKind.DOCTOR)
        for offset in range(5):
            day = clinic.day + datetime.timedelta(days=offset)
            WorkShiftFactory(
                doctor=doctor, chair=chair, start=clinic.at(9, day=day), end=clinic.at(18, day=day)
            )
            AppointmentFactory(
                patient=clinic.patient,
                doctor=doctor,
                chair=chair,
                start=clinic.at(10 + n % 3, day=day),
            )
        ServiceFactory()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = find(registrar_client, clinic, **params)
    assert sum(len(day.doctors) for day in response.context["found"].days) == 2 + 8 * 5
