"""The list searched by a name: surnames that start with the word first, then the other
matches, each in name order, read in parts; the count stops at a cap ("more than N")."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.lists import Concatenation, count_up_to
from patients import selectors
from patients.models import Patient
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = reverse("patients:list")


@pytest.fixture
def ivans():
    """20 surnames that start with "иван", 10 cards with it only in the first name."""
    for i in range(20):
        PatientFactory(last_name=f"Иванов{chr(ord('а') + i)}", first_name="Олег")
    for i in range(10):
        PatientFactory(last_name=f"Петров{chr(ord('а') + i)}", first_name="Иван")


def shown(response) -> list[str]:
    return [patient.last_name for patient in response.context["page"].object_list]


def test_the_list_pages_through_the_prefix_then_the_other_matches_in_name_order(
    registrar_client, ivans
):
    first = registrar_client.get(URL, {"q": "иван", "per_page": 25})
    starting = [f"Иванов{chr(ord('а') + i)}" for i in range(20)]
    others = [f"Петров{chr(ord('а') + i)}" for i in range(10)]
    assert shown(first) == starting + others[:5]
    assert first.context["page"].paginator.count == 30
    second = registrar_client.get(URL, {"q": "иван", "per_page": 25, "page": 2})
    assert shown(second) == others[5:]
    # A page wholly past the first part skips it by counting it.
    fifth = registrar_client.get(URL, {"q": "иван", "per_page": 5, "page": 5})
    assert shown(fifth) == others[:5]


def test_past_the_cap_the_list_says_more_than_the_cap(registrar_client, ivans, monkeypatch):
    monkeypatch.setattr(selectors, "LIST_CANDIDATES", 12)
    response = registrar_client.get(URL, {"q": "иван", "per_page": 5})
    page = response.context["page"]
    assert page.paginator.capped and page.paginator.count == 13
    html = response.content.decode()
    assert "data-list-capped" in html
    assert shown(response) == [f"Иванов{chr(ord('а') + i)}" for i in range(5)]


def test_the_list_counts_no_further_than_the_cap(registrar_client, ivans, monkeypatch):
    monkeypatch.setattr(selectors, "LIST_CANDIDATES", 12)
    with CaptureQueriesContext(connection) as queries:
        registrar_client.get(URL, {"q": "иван"})
    counts = [q["sql"] for q in queries if "COUNT(*)" in q["sql"]]
    assert counts and all("LIMIT" in sql and "ORDER BY" not in sql for sql in counts)


def test_a_search_page_runs_the_same_queries_for_30_and_300_matches(
    registrar_client, ivans, django_assert_num_queries
):
    registrar_client.get(URL, {"q": "иван"})
    with CaptureQueriesContext(connection) as small:
        registrar_client.get(URL, {"q": "иван", "page": 2})
    PatientFactory.create_batch(270, last_name="Петров", first_name="Иван")
    with django_assert_num_queries(len(small)):
        response = registrar_client.get(URL, {"q": "иван", "page": 2})
    assert len(response.context["page"].object_list) == 25


def test_a_concatenation_slices_and_counts_across_its_parts():
    for name in ["Аб", "Ав", "Ба", "Бб", "Бв"]:
        PatientFactory(last_name=name)
    a = Patient.objects.filter(last_name__startswith="А").order_by("last_name")
    b = Patient.objects.filter(last_name__startswith="Б").order_by("last_name")
    both = Concatenation(a, b)
    assert [p.last_name for p in both[1:4]] == ["Ав", "Ба", "Бб"]
    assert [p.last_name for p in both[3:10]] == ["Бб", "Бв"]
    assert both[6:8] == []
    assert count_up_to(both, 3) == 3 and count_up_to(both, 10) == 5
