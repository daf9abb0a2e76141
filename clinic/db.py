"""Database pieces that only PostgreSQL has, made harmless on the SQLite quickstart.

The test suite and production run on PostgreSQL, where these constraints and indexes are
real. ``make run`` uses SQLite for a one-clinic demo; there the services' own checks (row
locks and overlap queries) still refuse conflicts, only the second line of defence is absent.
"""

import datetime
import functools
import re
from collections.abc import Sequence
from typing import Any

import psycopg
from django.contrib.postgres.constraints import ExclusionConstraint
from django.db import NotSupportedError, connection, migrations
from django.db.models import Model, QuerySet
from django.db.models.functions import Collate
from django.db.models.query import ValuesListIterable
from django.db.models.sql import InsertQuery
from psycopg import abc as psycopg_abc
from psycopg.abc import AdaptContext
from psycopg.adapt import Loader


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


# --- Reading timestamps on PostgreSQL -----------------------------------------------------


class UtcTimestamptzLoader(Loader):
    """Reads timestamptz through psycopg's C loader, in UTC.

    Django registers a Python subclass of psycopg's pure-Python loader on every connection
    (to attach its time zone), which parses each value in Python: reading a calendar week's
    4,000 visit times took 30 ms instead of 3. The connection's session is in UTC (Django
    sets it), so the fast loader already returns what Django's would; ``timezone`` tells
    Django's cursors that nothing needs overriding.
    """

    timezone = datetime.UTC

    def __init__(self, oid: int, context: AdaptContext | None = None):
        super().__init__(oid, context)
        self._parse = FAST_TIMESTAMPTZ_LOADER(oid, context)

    def load(self, data):
        return self._parse.load(data)


_loader = psycopg.adapters.get_loader(
    psycopg.adapters.types["timestamptz"].oid, psycopg.pq.Format.TEXT
)
assert _loader is not None  # psycopg always has one for timestamptz
FAST_TIMESTAMPTZ_LOADER: type[psycopg_abc.Loader] = _loader


def fast_timestamps(sender, connection, **kwargs) -> None:
    """On each PostgreSQL connection whose session is in UTC, with psycopg's C code present."""
    if (
        connection.vendor == "postgresql"
        and connection.timezone_name == "UTC"
        and psycopg.pq.__impl__ in ("c", "binary")
    ):
        connection.connection.adapters.register_loader("timestamptz", UtcTimestamptzLoader)


def lock_rows(
    targets: Sequence[tuple[type[Model], list[int]]],
    *,
    fields: tuple[str, ...],
    then: Sequence["Statement | QuerySet | Insert"] = (),
) -> tuple[list[list], list[list[tuple]]]:
    """Lock the rows of several tables (FOR NO KEY UPDATE, in the order given: the callers'
    fixed order keeps them free of deadlocks) and read ``fields`` of each, in one statement
    on PostgreSQL; per table elsewhere (SQLite has one writer at a time and no row locks).
    Soft-deleted rows are locked and read too. ``then``: statements to run right after the
    locks are taken, sent with them (``pipelined``): each is a statement of its own, so it
    sees what other transactions committed while this one waited for the locks.

    Returns, per target, its rows' values; and the rows of each ``then`` statement."""
    if connection.vendor != "postgresql":
        locked = [
            list(model._base_manager.filter(pk__in=ids).order_by("pk").values_list(*fields))
            for model, ids in targets
        ]
        return locked, pipelined(*then)
    # Only quoted names of the models' own tables and columns go into the text; ids are
    # parameters.
    parts, params = [], []
    for index, (model, ids) in enumerate(targets):
        quote = connection.ops.quote_name
        column_of = {field.name: str(field.column) for field in model._meta.concrete_fields}
        table = quote(model._meta.db_table)
        columns = ", ".join(quote(column_of[name]) for name in fields)
        pk = quote(column_of[model._meta.pk.name])
        parts.append(
            f"t{index} AS (SELECT {index} AS target, {columns} FROM {table} "  # noqa: S608
            f"WHERE {pk} = ANY(%s::bigint[]) ORDER BY {pk} FOR NO KEY UPDATE)"
        )
        params.append(sorted(ids))
    # Appended in order, each table's lock is taken before the next one's.
    union = " UNION ALL ".join(f"SELECT * FROM t{i}" for i in range(len(targets)))  # noqa: S608
    locked_rows, *then_rows = pipelined((f"WITH {', '.join(parts)} {union}", params), *then)
    rows: list[list] = [[] for _ in targets]
    for target, *values in locked_rows:
        rows[target].append(tuple(values))
    return rows, then_rows


Statement = tuple[str, Sequence[Any]]


class Insert:
    """New rows of one model written by a single INSERT that travels with other statements
    (``pipelined``): Django's own statement (the fields' database values, ``pre_save``,
    ``auto_now_add``), and the new ids set on the instances once the rows come back.
    ``save()`` is not called, so no model signal is sent and no ``save`` override runs:
    only for models that need neither (the booking's lines, status row, audit entry and
    outbox event)."""

    def __init__(self, objs: Sequence[Model]) -> None:
        if not objs:
            raise ValueError("an Insert needs at least one instance")
        if not connection.features.can_return_rows_from_bulk_insert:
            raise NotSupportedError("this database cannot return the rows it inserts")
        self.objs = list(objs)
        opts = self.objs[0]._meta
        for obj in self.objs:
            if obj.pk is not None or not obj._state.adding:
                raise ValueError(f"{obj!r} is not a new row")
            obj._prepare_related_fields_for_save(operation_name="bulk_create")  # type: ignore[attr-defined]
        query = InsertQuery(type(self.objs[0]))
        query.insert_values(
            [f for f in opts.concrete_fields if not f.generated and f is not opts.auto_field],
            self.objs,
        )
        compiler = query.get_compiler(connection.alias)
        compiler.returning_fields = [opts.pk]
        [self.statement] = compiler.as_sql()

    def inserted(self, rows: list[tuple]) -> None:
        for obj, (pk,) in zip(self.objs, rows, strict=True):
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = connection.alias


def pipelined(*items: "Statement | QuerySet | Insert") -> list[list[tuple]]:
    """The rows of each statement, all sent together and answered in one round trip
    (psycopg's pipeline mode; a transaction's BEGIN goes with them). They still run one
    after another, each a statement of its own. Elsewhere than PostgreSQL, one by one.

    A ``values_list`` queryset may stand for a statement: its rows come back as its
    tuples, with Django's conversions (a decimal is a Decimal on SQLite too). An ``Insert``
    writes its instances and gives them their ids."""
    for item in items:
        if isinstance(item, QuerySet) and item._iterable_class is not ValuesListIterable:
            raise TypeError("pipelined() reads querysets as values_list tuples only")
    compilers = [
        item.query.get_compiler(connection.alias) if isinstance(item, QuerySet) else None
        for item in items
    ]
    statements: list[Statement] = [
        compiler.as_sql()
        if compiler is not None
        else item.statement
        if isinstance(item, Insert)
        else item  # type: ignore[misc]
        for item, compiler in zip(items, compilers, strict=True)
    ]
    results = _pipelined(statements)
    for item, rows in zip(items, results, strict=True):
        if isinstance(item, Insert):
            item.inserted(rows)
    return [
        [tuple(row) for row in compiler.results_iter(results=[rows])]  # type: ignore[list-item]
        if compiler is not None
        else rows
        for rows, compiler in zip(results, compilers, strict=True)
    ]


def _pipelined(statements: Sequence[Statement]) -> list[list[tuple]]:
    if len(statements) < 2 or connection.vendor != "postgresql":
        results = []
        for sql, params in statements:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                results.append(cursor.fetchall() if cursor.description else [])
        return results
    connection.ensure_connection()
    cursors = []
    try:
        # Django's cursors, so that query logging and timing see each statement; an error
        # surfaces when the pipeline syncs, and is translated as Django's own would be.
        with connection.wrap_database_errors, connection.connection.pipeline():
            for sql, params in statements:
                cursor = connection.cursor()
                cursors.append(cursor)
                cursor.execute(sql, params)
        with connection.wrap_database_errors:
            return [cursor.fetchall() if cursor.description else [] for cursor in cursors]
    finally:
        for cursor in cursors:
            cursor.close()


def first_values_query(*queries: "QuerySet | tuple[str, list[Any]]") -> tuple[str, list[Any]]:
    """``SELECT (q1), (q2), ...``: the first value of each query (each of one column,
    ``values_list(field)[:1]``), or NULL for an empty one. A query is a queryset, compiled
    on its own (Django nesting them as subqueries of an outer query resolves and clones
    them again, which for a few small lookups costs more than the database), or SQL with
    its parameters (``Shape.sql``)."""
    parts: list[str] = []
    params: list[Any] = []
    for query in queries:
        sql, part_params = query if isinstance(query, tuple) else query.query.sql_with_params()
        parts.append(f"({sql})")
        params.extend(part_params)
    return f"SELECT {', '.join(parts)}", params


def first_values(*queries: "QuerySet | tuple[str, list[Any]]") -> list[Any]:
    """``first_values_query``'s values, read in one round trip."""
    with connection.cursor() as cursor:
        cursor.execute(*first_values_query(*queries))
        return list(cursor.fetchone())
