"""Item 7: the quick search finds the caller. Digits rank numbers that end with them first,
then the cards most likely on the line (a visit today, upcoming visits, the latest
activity), then names; the dropdown says how many more match, up to a cap."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calendar_app.models import StatusCode
from calendar_app.tests.factories import AppointmentFactory
from clinic.tests.factories import ChairFactory
from patients import selectors
from patients.selectors import patient_search
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

QUICK_URL = reverse("patients:quick-search")


def at_today(hour: int, days: int = 0) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def visit(branch, doctor):
    chair = ChairFactory(branch=branch)

    def book(patient, start, **extra):
        return AppointmentFactory(
            patient=patient, doctor=doctor.employee, chair=chair, start=start, **extra
        )

    return book


def names(results) -> list[str]:
    return [patient.last_name for patient in results]


def test_numbers_that_end_with_the_digits_come_before_numbers_that_contain_them():
    PatientFactory(last_name="Абрамов", phone="+79161234000")
    PatientFactory(last_name="Яковлев", phone="+79160001234")
    PatientFactory(last_name="Борисов", phone="+79160000000", home_phone="+74950001234")
    assert names(patient_search("1234")) == ["Борисов", "Яковлев", "Абрамов"]


def test_a_visit_today_then_upcoming_visits_then_the_latest_activity_then_the_name(visit):
    now = timezone.now()
    ending = iter(range(10, 99))

    def card(last_name: str, **extra):
        return PatientFactory(last_name=last_name, phone=f"+791600{next(ending)}5555", **extra)

    nothing = card("Аверин")
    active_long_ago = card("Быков", last_activity_at=now - datetime.timedelta(days=300))
    active_yesterday = card("Воронов", last_activity_at=now - datetime.timedelta(days=1))
    in_ten_days = card("Жуков")
    in_two_days = card("Зайцев")
    today = card("Игнатов")
    cancelled_today = card("Ершов", last_activity_at=now - datetime.timedelta(days=400))
    visited_last_week = card("Гусев", last_activity_at=now - datetime.timedelta(days=7))
    also_nothing = card("Абрамов")
    visit(in_ten_days, at_today(10, days=10))
    visit(in_two_days, at_today(11, days=2))
    visit(today, at_today(12))
    visit(cancelled_today, at_today(13), status=StatusCode.CANCELLED)
    visit(visited_last_week, at_today(9, days=-7))
    expected = [
        today,
        in_two_days,
        in_ten_days,
        active_yesterday,
        visited_last_week,
        active_long_ago,
        cancelled_today,
        also_nothing,  # no visit, no activity: name order
        nothing,
    ]
    assert names(patient_search("5555")) == names(expected)


def test_a_card_number_counts_as_an_exact_match():
    PatientFactory(last_name="Абрамов", phone="+79164321000")
    PatientFactory(last_name="Яковлев", card_number=4321, phone="+79160000000")
    assert names(patient_search("4321")) == ["Яковлев", "Абрамов"]


def test_the_phone_search_runs_no_more_queries_for_many_matches_than_for_few(
    django_assert_max_num_queries,
):
    PatientFactory.create_batch(3, phone=factory_phone("7777"))
    with CaptureQueriesContext(connection) as few:
        assert len(patient_search("7777")) == 3
    PatientFactory.create_batch(30, phone=factory_phone("7777"))
    with django_assert_max_num_queries(len(few)):
        assert len(patient_search("7777")) == 10


_serial = iter(range(100, 999))


def factory_phone(last_four: str) -> str:
    return f"+7916{next(_serial):03d}{last_four}"


def test_the_candidates_are_read_without_sorting_every_match(monkeypatch):
    """Past the bound the ranking sees only the candidates: a very common fragment costs
    what a rare one does (no query both matches the fragment and sorts)."""
    monkeypatch.setattr(selectors, "SEARCH_CANDIDATES", 5)
    PatientFactory.create_batch(12, middle_name="Михайлович")
    with CaptureQueriesContext(connection) as queries:
        results = patient_search("ихайл")
    assert len(results) == 5
    # The surname prefix is read in index order; the other matches only as candidates, in
    # primary-key order (a walk of the key that stops; never the name index, under whose
    # letters the matches of a fragment inside a word cluster).
    others = [q["sql"] for q in queries if "%ихайл%" in q["sql"] and "NOT (" in q["sql"]]
    assert others
    for sql in others:
        order = sql.rsplit("ORDER BY", 1)[-1]
        assert order in (' "patients_patient"."id" ASC LIMIT 5', " 2 ASC LIMIT 5"), sql
        assert sql.count("ORDER BY") == 1, sql
    shown = [p.search_name for p in results]
    assert shown == sorted(shown, key=str.encode)


def more_marker(response) -> str | None:
    html = response.content.decode()
    if "data-quick-more=" not in html:
        return None
    return html.split('data-quick-more="')[1].split('"')[0]


def test_the_dropdown_says_how_many_more_match(registrar_client):
    PatientFactory.create_batch(13, last_name="Смирнов")
    response = registrar_client.get(QUICK_URL, {"q": "смирнов"})
    assert response.content.decode().count("data-quick-result=") == 10
    assert more_marker(response) == "3"


def test_past_the_cap_the_dropdown_says_more_than_the_cap(registrar_client, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_COUNT_CAP", 11)
    PatientFactory.create_batch(13, last_name="Смирнов")
    assert more_marker(registrar_client.get(QUICK_URL, {"q": "смирнов"})) == "11+"
    monkeypatch.setattr(selectors, "SEARCH_COUNT_CAP", 13)
    assert more_marker(registrar_client.get(QUICK_URL, {"q": "смирнов"})) == "3"


def test_the_dropdown_says_nothing_more_when_everything_is_shown(registrar_client):
    PatientFactory.create_batch(10, last_name="Смирнов")
    assert more_marker(registrar_client.get(QUICK_URL, {"q": "смирнов"})) is None


def test_the_quick_search_runs_the_same_queries_for_12_and_300_matches(
    registrar_client, django_assert_num_queries
):
    PatientFactory.create_batch(12, last_name="Смирнов", phone=factory_phone("3456"))
    registrar_client.get(QUICK_URL, {"q": "3456"})  # warm the session and rights caches
    with CaptureQueriesContext(connection) as small:
        registrar_client.get(QUICK_URL, {"q": "3456"})
    PatientFactory.create_batch(288, last_name="Смирнов", phone=factory_phone("3456"))
    with django_assert_num_queries(len(small)):
        response = registrar_client.get(QUICK_URL, {"q": "3456"})
    assert more_marker(response) == f"{selectors.SEARCH_COUNT_CAP}+"


def test_today_is_the_front_desks_day_in_its_branchs_zone(
    visit, registrar_client, branch, time_machine
):
    """20:00 UTC: already the 27th in Vladivostok, still the 26th in Moscow. A visit at 08:00
    on the 26th in Vladivostok was yesterday there: the card with a visit in three days
    is the likelier caller."""
    import zoneinfo

    time_machine.move_to(datetime.datetime(2026, 11, 26, 20, tzinfo=datetime.UTC), tick=False)
    vladivostok = zoneinfo.ZoneInfo("Asia/Vladivostok")
    branch.time_zone = "Asia/Vladivostok"
    branch.save()
    yesterday_there = PatientFactory(last_name="Антонов", phone="+79161117777")
    in_three_days = PatientFactory(last_name="Яшин", phone="+79162227777")
    visit(yesterday_there, datetime.datetime(2026, 11, 26, 8, tzinfo=vladivostok))
    visit(in_three_days, datetime.datetime(2026, 11, 29, 10, tzinfo=vladivostok))

    assert names(patient_search("7777", zone=vladivostok)) == ["Яшин", "Антонов"]
    moscow = zoneinfo.ZoneInfo("Europe/Moscow")
    assert names(patient_search("7777", zone=moscow)) == ["Антонов", "Яшин"]
    # The dropdown asks in the zone of the user's branch.
    found = registrar_client.get(QUICK_URL, {"q": "7777"}).context["results"]
    assert names(found) == ["Яшин", "Антонов"]
