"""Scale data: the network-size data set that ``bench/`` measures (``manage.py seed_scale``).

Generators are registered per app, like the demo's seeders: ``clinic/scale_core.py`` adds the
organisation, branches and staff, ``patients/scale.py`` the cards, ``calendar_app/scale.py``
the price list, shifts, visits and the waiting list. A later module adds ``<app>/scale.py``
calling ``register_generator`` at import; ``autodiscover`` finds it.

A generator is ``func(ctx)``. Big tables are written with COPY (``copy_rows``) while their
secondary indexes and constraints are dropped (``deferred_indexes``); rebuilding them at the
end also re-checks every constraint, the exclusion constraints included, on the whole table.
The data is deterministic for a given size, seed and date (random streams are named).
"""

import datetime
import queue
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.db import connection, transaction
from django.utils.module_loading import autodiscover_modules

from clinic import audit

NULL = "\\N"
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
# Every generated password is this one; the data set lives on a loopback bench database.
SCALE_PASSWORD = "odonta-bench"  # noqa: S105


@dataclass(frozen=True)
class ScaleSize:
    name: str
    branches: int
    chairs: int
    doctors: int
    patients: int
    appointments: int
    days_back: int
    shift_days_ahead: int = 28
    visit_days_ahead: int = 21


FIVE_YEARS = 5 * 365 + 1
SIZES = {
    # XS is for the test suite: a few hundred rows, seconds.
    "XS": ScaleSize("XS", 2, 3, 5, 200, 300, days_back=10, shift_days_ahead=7, visit_days_ahead=5),
    "S": ScaleSize("S", 2, 2, 3, 5_000, 50_000, FIVE_YEARS),
    "M": ScaleSize("M", 2, 20, 30, 50_000, 500_000, FIVE_YEARS),
    "L": ScaleSize("L", 20, 200, 300, 500_000, 5_000_000, FIVE_YEARS),
}


@dataclass
class ScaleContext:
    size: ScaleSize
    seed: int
    now: datetime.datetime
    log: Callable[[str], None]
    # What one generator hands to the next (ids of branches, doctors, users, ...).
    shared: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @property
    def today(self) -> datetime.date:
        return self.now.date()

    def rng(self, name: str) -> random.Random:
        """A random stream of its own per use, so that adding one does not shift the others."""
        return random.Random(f"{self.seed}:{self.size.name}:{name}")  # noqa: S311

    def say(self, message: str) -> None:
        self.log(f"[{time.monotonic() - self.started:7.1f}s] {message}")


Generator = Callable[[ScaleContext], None]


@dataclass(frozen=True)
class Registration:
    order: int
    name: str
    func: Generator
    tables: tuple[str, ...]


_generators: list[Registration] = []


def register_generator(order: int, name: str, func: Generator, *, tables: Sequence[str] = ()):
    """Add a generator; ``tables`` are emptied by ``seed_scale --reset`` (with CASCADE)."""
    if all(existing.name != name for existing in _generators):
        _generators.append(Registration(order, name, func, tuple(tables)))


def autodiscover() -> list[Registration]:
    import clinic.scale_core  # noqa: F401  (the core registers itself; it has no app of its own)

    autodiscover_modules("scale")
    return sorted(_generators, key=lambda registration: registration.order)


# --- Writing --------------------------------------------------------------------------


def text(value: str) -> str:
    """A string as a COPY text field."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def epoch_minutes(moment: datetime.datetime) -> int:
    return int((moment - EPOCH).total_seconds()) // 60


_stamps: dict[int, str] = {}


def stamp(minutes: int) -> str:
    """A UTC time given in minutes since the epoch, as COPY text (cached: times repeat)."""
    value = _stamps.get(minutes)
    if value is None:
        value = (EPOCH + datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:00+00")
        _stamps[minutes] = value
    return value


def copy_rows(
    table: str, columns: Sequence[str], lines: Iterable[str], *, chunk: int = 20_000
) -> int:
    """COPY tab-separated ``lines`` (each ending in a newline) into ``table``; returns the count."""
    count = 0
    buffer: list[str] = []
    with connection.cursor() as cursor, cursor.cursor.copy(_copy_sql(table, columns)) as copy:
        for line in lines:
            buffer.append(line)
            if len(buffer) >= chunk:
                copy.write("".join(buffer))
                count += len(buffer)
                buffer.clear()
        if buffer:
            copy.write("".join(buffer))
            count += len(buffer)
    return count


def copy_rows_parallel(
    table: str,
    columns: Sequence[str],
    lines: Iterable[tuple[int, str]],
    *,
    streams: int = 2,
    chunk: int = 5_000,
) -> int:
    """COPY ``(stream, line)`` pairs through ``streams`` connections at once, each in its own
    transaction: the server's per-row work (the exclusion constraints' GiST searches) then
    runs on every core. In a test's transaction it is one COPY on the test's connection."""
    if connection.in_atomic_block:
        return copy_rows(table, columns, (line for _stream, line in lines))
    queues: list[queue.Queue[str | None]] = [queue.Queue(maxsize=8) for _ in range(streams)]

    def writer(feed: queue.Queue[str | None]) -> None:
        with (
            _connect() as worker,
            worker.cursor() as cursor,
            cursor.copy(_copy_sql(table, columns)) as copy,
        ):
            while (data := feed.get()) is not None:
                copy.write(data)

    count = 0
    buffers: list[list[str]] = [[] for _ in range(streams)]
    with ThreadPoolExecutor(streams) as pool:
        futures = [pool.submit(writer, feed) for feed in queues]
        try:
            for stream, line in lines:
                buffer = buffers[stream % streams]
                buffer.append(line)
                if len(buffer) >= chunk:
                    _put(queues[stream % streams], "".join(buffer), futures)
                    count += len(buffer)
                    buffer.clear()
            for feed, buffer in zip(queues, buffers, strict=True):
                if buffer:
                    _put(feed, "".join(buffer), futures)
                    count += len(buffer)
        finally:
            for feed in queues:
                _put(feed, None, futures)
        for future in futures:
            future.result()
    return count


def _put(feed: queue.Queue, item: str | None, futures: list[Future]) -> None:
    """Hand a chunk to a writer, without hanging if a writer has died."""
    while True:
        try:
            feed.put(item, timeout=1)
            return
        except queue.Full:
            for future in futures:
                if future.done():
                    future.result()  # raises the writer's error
                    return


def _copy_sql(table: str, columns: Sequence[str]) -> str:
    quote = connection.ops.quote_name
    return f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"


def _connect() -> psycopg.Connection:
    """A connection of its own to the database Django uses, set up for bulk work."""
    settings = connection.settings_dict
    worker = psycopg.connect(
        dbname=settings["NAME"],
        user=settings.get("USER") or None,
        password=settings.get("PASSWORD") or None,
        host=settings.get("HOST") or None,
        port=settings.get("PORT") or None,
    )
    worker.execute("SET synchronous_commit = off")
    worker.execute("SET maintenance_work_mem = '1GB'")
    # Two statements run side by side on two cores; parallel workers would only compete.
    worker.execute("SET max_parallel_maintenance_workers = 0")
    worker.commit()
    return worker


def reset_sequence(table: str, column: str = "id") -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), "  # noqa: S608
            f"COALESCE((SELECT max({connection.ops.quote_name(column)}) FROM "
            f"{connection.ops.quote_name(table)}), 0) + 1, false)",
            [table, column],
        )


def execute(sql: str, params: Sequence[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@dataclass
class Deferred:
    indexes: list[tuple[str, str, str]]  # (table, index, definition)
    constraints: list[tuple[str, str, str]]  # (table, constraint, definition)


@contextmanager
def deferred_indexes(ctx: ScaleContext, *tables: str) -> Iterator[None]:
    """Drop the tables' secondary indexes and their foreign-key and unique constraints for a
    bulk load, and build them again afterwards, two at a time (re-adding a constraint
    validates every row). The primary key, the check and the exclusion constraints stay:
    exclusion constraints cannot be added back without a slow single-core check, so rows are
    checked as they arrive (``copy_rows_parallel`` spreads that over the cores).

    Outside a test the drop is committed first and the load is committed before the
    rebuild, which runs on connections of its own; in a test's transaction it all stays in
    that transaction.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        # Deferred foreign-key checks of earlier inserts would block ALTER TABLE: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) "
            "AND contype IN ('f', 'u') ORDER BY 1, 2",
            [list(tables)],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indrelid::regclass::text, indexrelid::regclass::text, "
            "pg_get_indexdef(indexrelid) FROM pg_index i "
            "WHERE indrelid = ANY(%s::regclass[]) AND NOT indisprimary AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1, 2",
            [list(tables)],
        )
        indexes = cursor.fetchall()
        for table, name, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for _table, name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    started = time.monotonic()
    deferred = Deferred(indexes, constraints)
    _rebuild(ctx, deferred)
    ctx.say(
        f"  {len(indexes)} indexes and {len(constraints)} constraints rebuilt "
        f"in {time.monotonic() - started:.0f}s"
    )


def _rebuild(ctx: ScaleContext, deferred: Deferred) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)",
            [list({table for table, *_rest in deferred.indexes + deferred.constraints})],
        )
        sizes = dict(cursor.fetchall())
    # Biggest first, so that the two lanes end together; trigram (GIN) builds cost the most.
    indexes = sorted(
        deferred.indexes,
        key=lambda item: sizes.get(item[0], 0) * (4 if " gin " in item[2] else 1),
        reverse=True,
    )
    index_steps = [([definition], f"index {name}") for _table, name, definition in indexes]
    # A table's constraints go one after the other (each locks the table); tables in parallel.
    by_table: dict[str, list[str]] = {}
    for table, name, definition in deferred.constraints:
        by_table.setdefault(table, []).append(
            f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        )
    constraint_steps = [
        (statements, f"constraints of {table}")
        for table, statements in sorted(by_table.items(), key=lambda t: -sizes.get(t[0], 0))
    ]
    for steps in (index_steps, constraint_steps):
        if connection.in_atomic_block:
            for statements, _label in steps:
                for statement in statements:
                    execute(statement)
        else:
            _run_in_lanes(ctx, steps)


def _run_in_lanes(ctx: ScaleContext, steps: list[tuple[list[str], str]], lanes: int = 2) -> None:
    work: queue.Queue[tuple[list[str], str]] = queue.Queue()
    for step in steps:
        work.put(step)

    def lane() -> None:
        with _connect() as worker:
            worker.autocommit = True
            while True:
                try:
                    statements, label = work.get_nowait()
                except queue.Empty:
                    return
                started = time.monotonic()
                for statement in statements:
                    worker.execute(statement)  # type: ignore[arg-type]
                ctx.say(f"  {label} ({time.monotonic() - started:.1f}s)")

    with ThreadPoolExecutor(lanes) as pool:
        for future in [pool.submit(lane) for _ in range(lanes)]:
            future.result()


# --- The whole run --------------------------------------------------------------------


def loaded_tables(registrations: Iterable[Registration]) -> list[str]:
    return [table for registration in registrations for table in registration.tables]


def has_data(registrations: Iterable[Registration]) -> bool:
    with connection.cursor() as cursor:
        for table in loaded_tables(registrations):
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {connection.ops.quote_name(table)})")  # noqa: S608
            if cursor.fetchone()[0]:
                return True
    return False


def truncate(registrations: Iterable[Registration]) -> None:
    tables = ", ".join(connection.ops.quote_name(t) for t in loaded_tables(registrations))
    execute("SET CONSTRAINTS ALL IMMEDIATE")  # pending checks of this transaction block TRUNCATE
    with audit.truncation_allowed():  # a benchmark database: its audit log goes too
        execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    execute("SET CONSTRAINTS ALL DEFERRED")


def bulk_session_settings() -> None:
    """Settings of this session only: the server's configuration is shared."""
    execute("SET synchronous_commit = off")
    execute("SET maintenance_work_mem = '1GB'")
    execute("SET work_mem = '256MB'")


def run(ctx: ScaleContext, registrations: Sequence[Registration]) -> None:
    """Run the generators in order. Each manages its own transactions (bulk loads commit
    in steps); a failed run leaves a partial data set that ``--reset`` clears."""
    bulk_session_settings()
    for registration in registrations:
        ctx.say(f"{registration.name}: start")
        registration.func(ctx)
        ctx.say(f"{registration.name}: done")
    tables = loaded_tables(registrations)
    if connection.in_atomic_block:  # a test: VACUUM cannot run in a transaction
        for table in tables:
            execute(f"ANALYZE {connection.ops.quote_name(table)}")
    else:
        # VACUUM too: it sets the visibility map (index-only scans) and the hint bits once,
        # instead of the first queries doing it.
        _run_in_lanes(
            ctx,
            [([f"VACUUM (ANALYZE) {connection.ops.quote_name(t)}"], f"vacuum {t}") for t in tables],
        )
    ctx.say("vacuumed and analyzed")


def count_rows(tables: Iterable[str]) -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts
