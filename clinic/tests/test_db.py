"""clinic.db on SQLite (the quickstart), checked on a bare in-memory SQLite connection so
that the PostgreSQL suite runs it too; the quickstart stage walks the rest."""

import sqlite3
from types import SimpleNamespace

import pytest
from django.db import NotSupportedError
from django.db.models import Value

from clinic.db import ByteOrder, sqlite_unicode_functions


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
