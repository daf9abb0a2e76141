"""Database pieces that only PostgreSQL has, made harmless on the SQLite quickstart.

The test suite and production run on PostgreSQL, where these constraints and indexes are
real. ``make run`` uses SQLite for a one-clinic demo; there the services' own checks (row
locks and overlap queries) still refuse conflicts, only the second line of defence is absent.
"""

import functools
import re

from django.contrib.postgres.constraints import ExclusionConstraint
from django.db import NotSupportedError, migrations
from django.db.models.functions import Collate


def is_postgresql(schema_editor_or_connection) -> bool:
    """For a schema editor or a Django connection (both know their ``vendor`` one way)."""
    target = schema_editor_or_connection
    vendor = getattr(target, "vendor", None) or getattr(target.connection, "vendor", None)
    return vendor == "postgresql"


class PostgresExclusionConstraint(ExclusionConstraint):
    """An exclusion constraint that SQLite silently skips (it cannot express one)."""

    def constraint_sql(self, model, schema_editor):
        return (
            super().constraint_sql(model, schema_editor) if is_postgresql(schema_editor) else None
        )

    def create_sql(self, model, schema_editor):
        return super().create_sql(model, schema_editor) if is_postgresql(schema_editor) else None

    def remove_sql(self, model, schema_editor):
        return super().remove_sql(model, schema_editor) if is_postgresql(schema_editor) else None

    def validate(self, model, instance, exclude=None, using="default"):
        from django.db import connections

        if not is_postgresql(connections[using]):
            return
        super().validate(model, instance, exclude=exclude, using=using)


class ByteOrder(Collate):
    """Text compared and sorted byte by byte, which for UTF-8 is code point order: the "C"
    collation on PostgreSQL (where a ``COLLATE "C"`` index serves it), SQLite's built-in
    BINARY on the quickstart. The same order on both, so results agree."""

    COLLATIONS = {"postgresql": "C", "sqlite": "BINARY"}

    def __init__(self, expression):
        super().__init__(expression, "C")

    def as_sql(self, compiler, connection, **extra_context):
        collation = self.COLLATIONS.get(connection.vendor)
        if collation is None:
            raise NotSupportedError(f"No byte-order collation is known for {connection.vendor}.")
        extra_context["collation"] = connection.ops.quote_name(collation)
        return super().as_sql(compiler, connection, **extra_context)


class RunSQLOnPostgres(migrations.RunSQL):
    """Raw SQL (trigram indexes, triggers, extensions) applied on PostgreSQL only."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if is_postgresql(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if is_postgresql(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def sqlite_unicode_functions(sender, connection, **kwargs) -> None:
    """SQLite's lower() and LIKE fold ASCII only; PostgreSQL's lower() and ILIKE fold every
    letter. The quickstart's Cyrillic would miss on a case difference: the search columns
    (lower()) and every ``icontains`` / ``iexact`` lookup (LIKE) would find less than on
    PostgreSQL. The built-ins are replaced by Unicode-aware ones on each SQLite connection
    (this disables SQLite's LIKE prefix optimisation, which a one-clinic demo can spare)."""
    if connection.vendor == "sqlite":
        raw = connection.connection
        raw.create_function("lower", 1, _unicode_lower, deterministic=True)
        # "X LIKE Y" calls like(Y, X); "X LIKE Y ESCAPE Z" calls like(Y, X, Z).
        raw.create_function("like", 2, _unicode_like, deterministic=True)
        raw.create_function("like", 3, _unicode_like, deterministic=True)


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def _unicode_like(pattern, value, escape=None):
    if pattern is None or value is None:
        return None
    return _like_regex(str(pattern).lower(), escape).fullmatch(str(value).lower()) is not None


@functools.lru_cache(maxsize=256)
def _like_regex(pattern: str, escape: str | None) -> re.Pattern[str]:
    parts = []
    chars = iter(pattern)
    for char in chars:
        if escape and char == escape:
            parts.append(re.escape(next(chars, "")))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)
