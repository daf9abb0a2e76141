"""The patient card's visits panel: what it lists, in which order, for whom, and how many
queries a patient with hundreds of visits costs."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from calendar_app.models import StatusCode
from clinic.tests.factories import ChairFactory, EmployeeFactory
from patients.tests.factories import PatientFactory

from .factories import AppointmentFactory, ServiceFactory, WorkShiftFactory

pytestmark = pytest.mark.django_db


def panel_url(patient) -> str:
    return reverse("calendar:patient-visits", kwargs={"pk": patient.pk})


def shown_ids(response, part: str) -> list[int]:
    """Ids of the visits in one list of the panel, in the order shown."""
    html = response.content.decode()
    start = html.index(f'data-visits="{part}"')
    end = html.index("</ul>", start)
    return [int(chunk.split('"')[0]) for chunk in html[start:end].split('data-visit="')[1:]]


def booked(clinic, days: int, hour: int = 10, **kwargs):
    day = timezone.localdate() + datetime.timedelta(days=days)
    start = clinic.at(hour, day=day)
    defaults = {"patient": clinic.patient, "doctor": clinic.doctor, "chair": clinic.chair1}
    return AppointmentFactory(**{**defaults, "start": start, **kwargs})


def test_upcoming_visits_come_soonest_first_and_the_history_latest_first(registrar_client, clinic):
    later, sooner = booked(clinic, 9), booked(clinic, 2)
    cancelled = booked(clinic, 5, status=StatusCode.CANCELLED)
    old, older = booked(clinic, -3, status=StatusCode.COMPLETED), booked(clinic, -30)
    AppointmentFactory(
        patient=PatientFactory(),
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(12, day=timezone.localdate() + datetime.timedelta(days=2)),
    )  # someone else's

    response = registrar_client.get(panel_url(clinic.patient))

    assert response.status_code == 200
    assert shown_ids(response, "upcoming") == [sooner.pk, later.pk]
    assert shown_ids(response, "history") == [cancelled.pk, old.pk, older.pk]


def test_a_visit_shows_its_time_in_its_branchs_zone_with_doctor_branch_and_services(
    registrar_client, yekaterinburg_clinic, registrar
):
    clinic = yekaterinburg_clinic
    registrar.employee.branches.add(clinic.branch)
    visit = booked(clinic, 3, hour=9)
    visit.service_lines.create(service=ServiceFactory(name="Чистка"), price="1000.00")

    html = registrar_client.get(panel_url(clinic.patient)).content.decode()

    local = visit.start.astimezone(clinic.branch.zone)
    assert f"{local:%d.%m.%Y} 09:00–09:30" in html  # Moscow would say 07:00
    assert clinic.doctor.short_name in html and clinic.branch.name in html
    assert "Чистка" in html


def test_only_upcoming_visits_offer_moving_and_cancelling(registrar_client, clinic):
    upcoming, past = booked(clinic, 2), booked(clinic, -2)
    html = registrar_client.get(panel_url(clinic.patient)).content.decode()
    assert reverse("calendar:appointment-cancel", args=[upcoming.pk]) in html
    assert reverse("calendar:appointment-reschedule", args=[upcoming.pk]) in html
    assert reverse("calendar:appointment-cancel", args=[past.pk]) not in html
    assert reverse("calendar:appointment-reschedule", args=[past.pk]) not in html
    assert "data-book-visit" in html
    assert f"{reverse('calendar:find-time')}?patient={clinic.patient.pk}" in html


def test_without_the_right_to_change_the_calendar_the_panel_only_lists(doctor_client, clinic):
    upcoming = booked(clinic, 2)
    response = doctor_client.get(panel_url(clinic.patient))
    assert response.status_code == 200
    html = response.content.decode()
    assert shown_ids(response, "upcoming") == [upcoming.pk]
    assert "data-visit-cancel" not in html and "data-visit-reschedule" not in html
    assert "data-book-visit" not in html and "data-find-time" not in html


def test_the_panel_needs_the_calendar_right(accountant, client, clinic):
    client.force_login(accountant.user)
    assert client.get(panel_url(clinic.patient)).status_code == 403


def test_the_panel_answers_only_get(registrar_client, clinic):
    assert registrar_client.post(panel_url(clinic.patient)).status_code == 405


def test_a_missing_or_deleted_patient_is_not_found(registrar_client, clinic):
    url = reverse("calendar:patient-visits", kwargs={"pk": 2**63 - 1})
    assert registrar_client.get(url).status_code == 404
    gone = PatientFactory(deleted_at=timezone.now())
    assert registrar_client.get(panel_url(gone)).status_code == 404


def test_visits_in_another_branch_are_counted_but_not_shown(
    registrar_client, clinic, branch_elsewhere
):
    """A one-branch registrar sees that the patient is booked elsewhere (so as not to book
    them twice), but not where, with whom, nor a way to change it."""
    doctor = EmployeeFactory(last_name="Чужеврачов", branches=[branch_elsewhere])
    chair = ChairFactory(branch=branch_elsewhere, name="Чужое кресло")
    elsewhere = booked(clinic, 4, doctor=doctor, chair=chair)
    booked(clinic, -4, doctor=doctor, chair=chair)  # past: not counted
    mine = booked(clinic, 2)

    response = registrar_client.get(panel_url(clinic.patient))

    html = response.content.decode()
    assert shown_ids(response, "upcoming") == [mine.pk]
    assert shown_ids(response, "history") == []
    assert 'data-visits-elsewhere="1"' in html
    for marker in ("Чужеврачов", "Чужое кресло", branch_elsewhere.name, f"/{elsewhere.pk}/"):
        assert marker not in html


def test_a_superuser_sees_every_branchs_visits(admin_client, clinic, branch_elsewhere):
    doctor = EmployeeFactory(branches=[branch_elsewhere])
    elsewhere = booked(clinic, 4, doctor=doctor, chair=ChairFactory(branch=branch_elsewhere))
    response = admin_client.get(panel_url(clinic.patient))
    assert shown_ids(response, "upcoming") == [elsewhere.pk]
    assert "data-visits-elsewhere" not in response.content.decode()


def test_book_offers_each_of_the_users_branches(
    registrar, registrar_client, clinic, branch_elsewhere
):
    html = registrar_client.get(panel_url(clinic.patient)).content.decode()
    assert "data-book-branch" not in html  # one branch: one button
    registrar.employee.branches.add(branch_elsewhere)
    html = registrar_client.get(panel_url(clinic.patient)).content.decode()
    assert f'data-book-branch="{clinic.branch.pk}"' in html
    assert f'data-book-branch="{branch_elsewhere.pk}"' in html


def many_visits(clinic, count: int, first_day: int = 1) -> None:
    """``count`` past and ``count`` upcoming visits, one a day from ``first_day`` each way,
    each with a service."""
    service = ServiceFactory()
    for n in range(first_day, first_day + count):
        for days in (n, -n):
            visit = booked(clinic, days)
            visit.service_lines.create(service=service, price="100.00")


def test_show_more_pages_through_the_history(registrar_client, clinic):
    many_visits(clinic, 25)
    first = registrar_client.get(panel_url(clinic.patient))
    assert len(shown_ids(first, "history")) == 10
    assert 'data-visits-show-more="history"' in first.content.decode()

    seen = shown_ids(first, "history")
    offset = 10
    while True:
        page = registrar_client.get(
            panel_url(clinic.patient), {"part": "history", "offset": offset}, HTTP_HX_REQUEST="true"
        )
        assert page.status_code == 200
        html = page.content.decode()
        seen += [int(c.split('"')[0]) for c in html.split('data-visit="')[1:]]
        if "data-visits-show-more" not in html:
            break
        offset += 10
    starts = [v.start for v in clinic.patient.appointments.filter(pk__in=seen)]
    assert len(seen) == len(set(seen)) == 25
    assert sorted(starts, reverse=True) == [
        clinic.patient.appointments.get(pk=pk).start for pk in seen
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"part": "nothing"},
        {"part": "history", "offset": "-1"},
        {"part": "history", "offset": "²"},
        {"part": "history", "offset": "9" * 30},
        {"part": "upcoming", "offset": "10.5"},
    ],
)
def test_a_bad_part_or_offset_is_refused_with_400(registrar_client, clinic, query):
    assert registrar_client.get(panel_url(clinic.patient), query).status_code == 400


def test_the_panels_queries_do_not_grow_with_the_visits(
    registrar_client, clinic, django_assert_max_num_queries
):
    many_visits(clinic, 2)
    registrar_client.get(panel_url(clinic.patient))  # warm the status styles' cache
    with django_assert_max_num_queries(10) as few:
        registrar_client.get(panel_url(clinic.patient))
    many_visits(clinic, 150, first_day=3)
    with django_assert_max_num_queries(10) as many:
        response = registrar_client.get(panel_url(clinic.patient))
    assert len(shown_ids(response, "upcoming")) == 10
    assert len(many.captured_queries) == len(few.captured_queries), [
        q["sql"][:90] for q in many.captured_queries
    ]
    with django_assert_max_num_queries(10) as more:
        registrar_client.get(panel_url(clinic.patient), {"part": "history", "offset": 280})
    assert len(more.captured_queries) <= len(few.captured_queries)


# --- Booking from the card --------------------------------------------------------------


def test_the_card_loads_the_visits_panel_for_whoever_sees_the_calendar(
    registrar_client, accountant, client, clinic
):
    html = registrar_client.get(reverse("patients:card", args=[clinic.patient.pk])).content
    assert f'hx-get="{panel_url(clinic.patient)}"'.encode() in html
    assert b"calendarChanged from:body" in html  # refreshed after a booking, move or cancel
    client.force_login(accountant.user)  # patients, but not the calendar
    html = client.get(reverse("patients:card", args=[clinic.patient.pk])).content
    assert b'data-card-panel="visits"' not in html


def booking_dialog(client, clinic, **params):
    query = {"branch": clinic.branch.pk, "patient": clinic.patient.pk, **params}
    return client.get(reverse("calendar:appointment-create"), query, HTTP_HX_REQUEST="true")


def test_booking_from_the_card_presets_the_patient_and_offers_their_doctors_free_times(
    registrar_client, clinic
):
    clinic.patient.attending_doctor = clinic.doctor
    clinic.patient.save(update_fields=["attending_doctor"])
    booked(clinic, 0, hour=9, start=clinic.at(9), patient=PatientFactory())  # 09:00 is taken

    response = booking_dialog(registrar_client, clinic)

    assert response.status_code == 200
    form = response.context["form"]
    assert form["patient"].value() == clinic.patient.pk
    assert form["doctor"].value() == clinic.doctor.pk
    assert response.context["suggestions_of"] == clinic.doctor
    suggestions = response.context["suggestions"]
    assert suggestions[0]["start"] == clinic.at(9, 30)
    assert {s["doctor_id"] for s in suggestions} == {clinic.doctor.pk}
    html = response.content.decode()
    assert f'data-date="{clinic.day.isoformat()}" data-time="09:30"' in html
    assert f'data-doctor="{clinic.doctor.pk}"' in html
    assert f'<option value="{clinic.patient.pk}" selected>' in html


def test_without_a_doctor_of_their_own_any_doctors_first_times_are_offered(
    registrar_client, clinic
):
    response = booking_dialog(registrar_client, clinic)
    suggestions = response.context["suggestions"]
    assert response.context["any_doctor"] and "suggestions_of" not in response.context
    starts = [s["start"] for s in suggestions]
    assert starts == sorted(set(starts)) and starts[0] == clinic.at(9)
    assert clinic.doctor.short_name in response.content.decode()


def test_a_doctor_with_no_free_time_falls_back_to_any_doctor(registrar_client, clinic):
    busy = EmployeeFactory(branches=[clinic.branch])  # no shifts at all
    clinic.patient.attending_doctor = busy
    clinic.patient.save(update_fields=["attending_doctor"])
    response = booking_dialog(registrar_client, clinic)
    assert response.context["any_doctor"]
    assert response.context["suggestions"][0]["start"] == clinic.at(9)


def test_a_doctor_of_another_branch_is_not_offered(registrar_client, clinic, branch_elsewhere):
    stranger = EmployeeFactory(branches=[branch_elsewhere])
    WorkShiftFactory(
        doctor=stranger,
        chair=ChairFactory(branch=branch_elsewhere),
        start=clinic.at(8),
        end=clinic.at(20),
    )
    clinic.patient.attending_doctor = stranger
    clinic.patient.save(update_fields=["attending_doctor"])
    response = booking_dialog(registrar_client, clinic)
    assert stranger.pk not in {s["doctor_id"] for s in response.context["suggestions"]}
    assert response.context["form"]["doctor"].value() is None


def test_no_free_time_in_the_branch_says_so(registrar_client, branch, registrar):
    patient = PatientFactory()
    response = registrar_client.get(
        reverse("calendar:appointment-create"),
        {"branch": branch.pk, "patient": patient.pk},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "data-no-free-time" in response.content.decode()


def test_offered_times_are_the_branchs_wall_clock(
    registrar, registrar_client, yekaterinburg_clinic
):
    clinic = yekaterinburg_clinic
    registrar.employee.branches.add(clinic.branch)
    WorkShiftFactory(
        doctor=clinic.doctor, chair=clinic.chair1, start=clinic.at(9), end=clinic.at(12)
    )
    response = booking_dialog(registrar_client, clinic)
    html = response.content.decode()
    assert f'data-date="{clinic.day.isoformat()}" data-time="09:00"' in html  # not Moscow's 07:00
