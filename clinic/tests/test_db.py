"""clinic.db on SQLite (the quickstart), checked on a bare in-memory SQLite connection so
that the PostgreSQL suite runs it too (the quickstart stage walks the rest); and the fast
timestamp loader of PostgreSQL connections."""

import datetime
import sqlite3
import zoneinfo
from types import SimpleNamespace

import psycopg
import pytest
from django.db import NotSupportedError, connection
from django.db.models import Value

from clinic.db import ByteOrder, UtcTimestamptzLoader, sqlite_unicode_functions


@pytest.fixture
def sqlite():
    raw = sqlite3.connect(":memory:")
    sqlite_unicode_functions(
        sender=None, connection=SimpleNamespace(vendor="sqlite", connection=raw)
    )
    yield raw
    raw.close()


@pytest.mark.parametrize(
    ("value", "pattern", "matches"),
    [
        ("Смирнова", "%смирн%", True),  # SQLite's own LIKE folds ASCII only
        ("СМИРНОВА", "смирнова", True),
        ("Smith", "%SMI%", True),
        ("Иванов", "ив%", True),
        ("Иванов", "%ова", False),
        ("a_b", r"a\_b", True),  # escaped wildcards are plain characters
        ("axb", r"a\_b", False),
        ("100%", r"100\%", True),
        ("1000", r"100\%", False),
        ("a\\b", r"a\\b", True),
        ("строка\nвторая", "%вторая", True),
    ],
)
def test_like_folds_every_letter_as_postgresql_ilike_does(sqlite, value, pattern, matches):
    found = sqlite.execute("SELECT ? LIKE ? ESCAPE '\\'", [value, pattern]).fetchone()[0]
    assert found == int(matches)


def test_like_without_escape_and_null_behave_as_sqlite_s_own(sqlite):
    assert sqlite.execute("SELECT 'Ёлка' LIKE 'ёл%'").fetchone()[0] == 1
    assert sqlite.execute("SELECT NULL LIKE 'a', 'a' LIKE NULL").fetchone() == (None, None)


def test_lower_folds_cyrillic(sqlite):
    assert sqlite.execute("SELECT lower('ФЁДОРОВА Anna')").fetchone()[0] == "фёдорова anna"


def test_byte_order_is_c_on_postgresql_binary_on_sqlite_and_refused_elsewhere():
    def sql(vendor):
        ops = SimpleNamespace(
            quote_name=lambda name: f'"{name}"', check_expression_support=lambda expression: None
        )
        connection = SimpleNamespace(vendor=vendor, ops=ops)
        compiler = SimpleNamespace(compile=lambda node: ("%s", [node.value]))
        return ByteOrder(Value("x")).as_sql(compiler, connection)[0]

    assert sql("postgresql") == '%s COLLATE "C"'
    assert sql("sqlite") == '%s COLLATE "BINARY"'
    with pytest.raises(NotSupportedError):
        sql("oracle")


# --- Timestamps on PostgreSQL -----------------------------------------------------------


@pytest.mark.django_db
def test_postgresql_connections_read_timestamps_with_the_fast_loader():
    connection.ensure_connection()
    oid = psycopg.adapters.types["timestamptz"].oid
    loader = connection.connection.adapters.get_loader(oid, psycopg.pq.Format.TEXT)
    assert loader is UtcTimestamptzLoader


@pytest.mark.django_db
@pytest.mark.parametrize(
    "moment",
    [
        datetime.datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=datetime.UTC),
        datetime.datetime(2026, 3, 29, 1, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Moscow")),
        datetime.datetime(2026, 10, 25, 2, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")),
        datetime.datetime(1900, 1, 1, 0, 0, tzinfo=datetime.UTC),
        datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC),
        datetime.datetime(1, 1, 1, 0, 0, tzinfo=datetime.UTC),
    ],
)
def test_timestamps_read_back_as_django_s_own_loader_reads_them(moment):
    """The same instant, aware, in UTC, as Django's loader gives, microseconds included."""
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz", [moment])
        fast = cursor.fetchone()[0]
    with connection.cursor() as cursor:
        register_tzloader(connection.timezone, cursor.cursor)
        cursor.execute("SELECT %s::timestamptz", [moment])
        django_s = cursor.fetchone()[0]
    assert fast == django_s == moment.astimezone(datetime.UTC)
    assert fast.tzinfo is django_s.tzinfo is datetime.UTC


@pytest.mark.django_db
def test_first_values_reads_each_querysets_first_value_in_one_round_trip():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clinic.db import first_values
    from clinic.models import Branch
    from clinic.tests.factories import BranchFactory

    first, second = BranchFactory(name="Первый"), BranchFactory(name="Второй")
    with CaptureQueriesContext(connection) as queries:
        values = first_values(
            Branch.objects.filter(pk=second.pk).values_list("name")[:1],
            Branch.objects.filter(pk=-1).values_list("pk")[:1],
            Branch.objects.filter(name__startswith="Перв").values_list("pk")[:1],
        )
    assert values == ["Второй", None, first.pk]
    assert len(queries) == 1


@pytest.mark.django_db
def test_pipelined_statements_answer_in_order_and_their_errors_are_djangos():
    from django.db import DataError, connection, transaction
    from django.test.utils import CaptureQueriesContext

    from clinic.db import pipelined

    with CaptureQueriesContext(connection) as queries:
        rows = pipelined(
            ("SELECT %s::int, 'а'", [1]),
            ("SELECT generate_series(1, %s)", [3]),
            ("SELECT 1 WHERE false", []),
        )
    assert rows == [[(1, "а")], [(1,), (2,), (3,)], []]
    assert len(queries) == 3  # each statement is seen by Django's query logging

    with pytest.raises(DataError), transaction.atomic():
        pipelined(("SELECT 1", []), ("SELECT 1 / %s", [0]), ("SELECT 2", []))
    assert pipelined(("SELECT 3", [])) == [[(3,)]]  # the connection is usable afterwards


@pytest.mark.django_db
def test_a_values_list_queryset_is_piped_as_a_statement_and_read_as_its_tuples():
    from decimal import Decimal

    from clinic.db import pipelined
    from pricelist.models import Service
    from pricelist.tests.factories import ServiceFactory

    service = ServiceFactory(price=Decimal("1234.50"))
    priced = Service.objects.filter(pk=service.pk).values_list("pk", "price")
    assert pipelined(("SELECT 1", []), priced) == [[(1,)], [(service.pk, Decimal("1234.50"))]]
    with pytest.raises(TypeError):
        pipelined(("SELECT 1", []), Service.objects.filter(pk=service.pk))


@pytest.mark.django_db
def test_an_insert_travels_with_other_statements_and_gives_its_rows_their_ids():
    from clinic.db import Insert, pipelined
    from clinic.models import OutboxEvent

    events = [OutboxEvent(name="x.made", payload={"n": n}) for n in range(3)]
    [rows, [(count,)]] = pipelined(
        Insert(events), ("SELECT count(*) FROM clinic_outboxevent WHERE name = %s", ["x.made"])
    )
    assert count == 3 and [event.pk for event in events] == [row[0] for row in rows]
    stored = OutboxEvent.objects.order_by("pk")
    assert [(e.payload, e.created_at is not None) for e in stored] == [
        ({"n": n}, True) for n in range(3)
    ]
    assert not events[0]._state.adding
    with pytest.raises(ValueError):
        Insert(events)  # saved already
    with pytest.raises(ValueError):
        Insert([])


@pytest.mark.django_db(transaction=True)
def test_a_statement_sent_after_a_lock_sees_what_was_committed_while_it_waited():
    """The reason the slot read may travel with the row locks: it is a statement of its
    own, whose snapshot is taken once the lock is held."""
    import threading

    from django.db import connection, connections, transaction

    from clinic.db import lock_rows
    from clinic.models import Chair
    from clinic.tests.factories import ChairFactory

    chair = ChairFactory(name="до")
    holding, released = threading.Event(), threading.Event()

    def rename_while_holding_the_lock():
        try:
            with transaction.atomic():
                Chair.objects.select_for_update().get(pk=chair.pk)
                holding.set()
                released.wait(5)
                Chair.objects.filter(pk=chair.pk).update(name="после")
        finally:
            connections.close_all()

    other = threading.Thread(target=rename_while_holding_the_lock)
    other.start()
    assert holding.wait(5)
    threading.Timer(0.3, released.set).start()
    with transaction.atomic():
        _locked, [names] = lock_rows(
            [(Chair, [chair.pk])],
            fields=("id",),
            then=[("SELECT name FROM clinic_chair WHERE id = %s", [chair.pk])],
        )
    other.join(5)
    assert names == [("после",)]
    assert connection.vendor == "postgresql"
