"""The search runs on PostgreSQL trigram indexes, with the very WHERE clause the app builds."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients.models import Patient
from patients.selectors import patient_search, search_condition

pytestmark = pytest.mark.django_db

SURNAMES = ["Петров", "Сидоров", "Кузнецов", "Смирнов", "Фёдоров", "Орлов", "Волков"]
NAMES = ["Пётр", "Олег", "Анна", "Мария", "Дарья", "Илья", "Сергей"]


def surname(i: int) -> str:
    # Like a real register: a searched name is rare among the others.
    return f"Иванов{i}" if i % 200 == 0 else f"{SURNAMES[i % 7]}{i}"


@pytest.fixture
def many_patients():
    Patient.objects.bulk_create(
        [
            Patient(
                card_number=i + 1,
                last_name=surname(i),
                first_name=NAMES[(i // 7) % 7],
                middle_name="Сергеевич",
                phone=f"+7916{i:07d}",
                home_phone=f"+7495{i:07d}" if i % 5 == 0 else "",
            )
            for i in range(2000)
        ],
        batch_size=1000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patient")
        # On a small table the planner may rightly prefer a scan; forbid it for this
        # transaction only, so the test shows the index can serve the query.
        cursor.execute("SET LOCAL enable_seqscan = off")


def only_index(name: str) -> None:
    """Leave the planner one search index (rolled back with the test). On 2,000 rows the
    planner may otherwise scan *any* partial index just for its "live cards" condition and
    filter afterwards, which proves nothing either way."""
    others = {
        "patient_search_name_trgm",
        "patient_search_phones_trgm",
        "patient_search_name_prefix",
    } - {name}
    with connection.cursor() as cursor:
        for other in sorted(others):
            cursor.execute(f"DROP INDEX {other}")
        # A trigram (GIN) index is only ever read by a bitmap scan. With sequential scans
        # off, the planner may walk a whole btree index instead and filter every row.
        cursor.execute("SET LOCAL enable_indexscan = off")


def index_condition(plan: str, index: str) -> str:
    """The Index Cond the plan gives ``index``: proof that the index serves the search."""
    lines = plan.splitlines()
    for number, line in enumerate(lines):
        if f"Index Scan on {index}" in line:
            following = lines[number + 1] if number + 1 < len(lines) else ""
            return following.strip() if "Index Cond" in following else ""
    return ""


def test_the_name_search_uses_the_trigram_index(many_patients):
    only_index("patient_search_name_trgm")
    queryset = Patient.objects.filter(search_condition("иван"))
    sql = str(queryset.query)
    assert '"patients_patient"."search_name"' in sql
    assert "LIKE %иван%" in sql
    assert '"patients_patient"."deleted_at" IS NULL' in sql  # the partial index's condition
    plan = queryset.explain()
    assert "%иван%" in index_condition(plan, "patient_search_name_trgm"), plan
    assert queryset.count() == 10


def test_a_two_word_search_uses_the_trigram_index(many_patients):
    only_index("patient_search_name_trgm")
    queryset = Patient.objects.filter(search_condition("иван олег"))
    plan = queryset.explain()
    assert "%иван%" in index_condition(plan, "patient_search_name_trgm"), plan
    expected = [i for i in range(0, 2000, 200) if (i // 7) % 7 == 1]
    assert expected and queryset.count() == len(expected)


def test_the_phone_search_uses_the_trigram_index(many_patients):
    only_index("patient_search_phones_trgm")
    queryset = Patient.objects.filter(search_condition("+7 (916) 000-01-2"))
    sql = str(queryset.query)
    assert '"patients_patient"."search_phones"' in sql and "LIKE %7916000012%" in sql
    plan = queryset.explain()
    assert "7916000012" in index_condition(plan, "patient_search_phones_trgm"), plan
    assert sorted(p.phone for p in queryset) == [f"+79160000{n}" for n in range(120, 130)]


def test_a_short_phone_fragment_uses_the_index_and_checks_the_card_number(many_patients):
    only_index("patient_search_phones_trgm")
    queryset = Patient.objects.filter(search_condition("1234"))
    assert "OR" in str(queryset.query) and '"card_number" = 1234' in str(queryset.query)
    assert "1234" in index_condition(queryset.explain(), "patient_search_phones_trgm")


def test_a_short_first_word_uses_the_prefix_index(many_patients):
    queryset = Patient.objects.filter(search_condition("ив"))
    assert "LIKE ив%" in str(queryset.query)
    plan = queryset.explain()
    assert "patient_search_name_prefix" in plan and "Index Cond" in plan, plan
    assert queryset.count() == 10


def test_the_search_finds_the_right_patients_among_thousands(many_patients):
    results = patient_search("федоров мария", limit=100)
    expected = [i for i in range(2000) if i % 200 and i % 7 == 4 and (i // 7) % 7 == 3]
    assert expected and sorted(p.card_number - 1 for p in results) == expected
    assert [p.card_number for p in patient_search("495 000-00-05")] == [6]


def test_the_quick_search_reads_a_common_surname_in_index_order(many_patients):
    """Ten lines of a name shared by hundreds of cards: the prefix index walked in order and
    stopped, no sort of every match (at 500,000 cards that sort is the slow part)."""
    with CaptureQueriesContext(connection) as queries:
        results = patient_search("петров")
    assert len(queries) == 1  # the prefix filled the ten lines: no second read
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + queries[0]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "patient_search_name_prefix" in plan and "Sort" not in plan, plan
    names = [p.search_name for p in results]
    assert len(names) == 10 and names == sorted(names, key=lambda n: n.encode())
    assert all(name.startswith("петров") for name in names)


def test_the_quick_search_fills_up_with_names_that_contain_the_word(many_patients):
    # "иванов" starts ten surnames (every 200th card) and occurs in no other name.
    assert [p.card_number - 1 for p in patient_search("иванов", limit=12)] == sorted(
        range(0, 2000, 200), key=lambda i: f"иванов{i}"
    )
    # "ергеевич" starts no surname and is in every card: the second read ranks a bounded
    # set of candidates (SEARCH_CANDIDATES of the 2,000), in name order.
    results = [p.search_name for p in patient_search("ергеевич", limit=5)]
    assert len(results) == 5 and results == sorted(results, key=lambda n: n.encode())
    assert all("ергеевич" in name for name in results)
