"""Time a patient import (both passes) on a copy of a seeded database.

    .venv/bin/python bench/imports.py --template odonta_bench --rows 10000
    .venv/bin/python bench/imports.py --template odonta_bench --rows 10000 --update-share 0.5

The template is a database ``seed_scale`` filled (any size). It is copied (``CREATE DATABASE
... TEMPLATE``), migrated, and the copy is imported into and dropped afterwards, so that the
template stays as seeded and runs are comparable. The file is CSV as a previous system
exports it: ``--update-share`` of its rows are existing cards (matched by phone) with a new
comment and email, the rest new cards with a valid SNILS each. It prints, per pass: the
wall time, rows per second, SQL queries per row, the slowest chunk, the audit entries and
outbox events written, and how long each chunk held the audit chain's lock (from its first
audit entry to its commit: every other audited write in the clinic waits that long).

Domain events are written but not delivered (delivery is the outbox's business and is
measured nowhere here); Redis is not used.
"""

import argparse
import contextlib
import csv
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dj_database_url
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def maintenance_connection(url: str) -> psycopg.Connection:
    """The server's ``postgres`` database, for creating and dropping the others."""
    target = dj_database_url.parse(url)
    return psycopg.connect(
        dbname="postgres",
        user=target.get("USER") or None,
        host=target.get("HOST") or None,
        port=target.get("PORT") or None,
        autocommit=True,
    )


def copy_database(url: str, template: str, copy: str) -> str:
    with maintenance_connection(url) as maintenance:
        maintenance.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(copy)))
        maintenance.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(copy), sql.Identifier(template)
            )
        )
    return url.rsplit("/", 1)[0] + "/" + copy


def drop_database(url: str, name: str) -> None:
    with maintenance_connection(url) as maintenance:
        maintenance.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def snils(rng: random.Random, taken: set[str]) -> str:
    from clinic.validators import snils_check_digits

    while True:
        first_nine = f"{rng.randint(2_000_000, 999_999_999):09d}"
        value = first_nine + snils_check_digits(first_nine)
        if value not in taken:
            taken.add(value)
            return value


def build_file(rows: int, update_share: float, seed: int) -> bytes:
    from patients.models import Patient

    rng = random.Random(seed)
    updates = int(rows * update_share)
    existing = list(
        Patient.objects.exclude(phone="").order_by("?").values_list("phone", "last_name")[:updates]
    )
    taken = set(Patient.all_objects.exclude(snils="").values_list("snils", flat=True))
    phones = set(Patient.all_objects.values_list("phone", flat=True))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Фамилия", "Имя", "Телефон", "Email", "СНИЛС", "Комментарий"])
    for index, (phone, last_name) in enumerate(existing):
        writer.writerow([last_name, "Иван", phone, f"bench{index}@mail.example", "", "из файла"])
    number = 0
    for index in range(rows - len(existing)):
        while True:
            number += 1
            phone = f"+7999{number:07d}"
            if phone not in phones:
                break
        writer.writerow(
            [f"Импортов{index}", "Пётр", phone, "", snils(rng, taken), "новый из файла"]
        )
    return buffer.getvalue().encode("utf-8-sig")


class Meter:
    """Queries, chunk times and audit-lock holds of one pass."""

    def __init__(self) -> None:
        self.queries = 0
        self.chunks: list[float] = []
        self.holds: list[float] = []
        self._segment_start = 0.0
        self._first_audit: float | None = None

    def query(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)

    def audit_called(self) -> None:
        if self._first_audit is None:
            self._first_audit = time.perf_counter()

    def segment_end(self) -> None:
        now = time.perf_counter()
        if self._first_audit is not None:
            self.holds.append(now - self._first_audit)
        self._first_audit = None
        self._segment_start = now

    def chunk_done(self) -> None:
        now = time.perf_counter()
        self.chunks.append(now - self._segment_start)
        self.segment_end()


def run_pass(job_id: int, *, dry_run: bool) -> dict:
    from django.db import connection

    from clinic import audit
    from clinic.models import AuditEntry, OutboxEvent
    from patients import imports
    from patients.models import PatientImport

    meter = Meter()
    original_chunks, original_record = imports._chunks, audit.record

    def timed_chunks(*args, **kwargs):
        for chunk in original_chunks(*args, **kwargs):
            yield chunk
            meter.chunk_done()  # the generator resumes after the chunk's transaction closed

    def recording(*args, **kwargs):
        meter.audit_called()
        return original_record(*args, **kwargs)

    imports._chunks, audit.record = timed_chunks, recording
    audit_before, events_before = AuditEntry.objects.count(), OutboxEvent.objects.count()
    try:
        with connection.execute_wrapper(meter.query):
            started = meter._segment_start = time.perf_counter()
            imports.run_import(job_id, dry_run=dry_run)
            meter.segment_end()
            seconds = time.perf_counter() - started
    finally:
        imports._chunks, audit.record = original_chunks, original_record
    job = PatientImport.objects.get(pk=job_id)
    rows = job.total_rows or 1
    return {
        "pass": "validate" if dry_run else "import",
        "status": job.status,
        "error": job.error,
        "rows": job.total_rows,
        "new": job.new_count,
        "updated": job.update_count,
        "invalid": job.invalid_count,
        "unchanged": job.skipped_count,
        "seconds": seconds,
        "rows_per_second": rows / seconds,
        "queries_per_row": meter.queries / rows,
        "chunk_median": statistics.median(meter.chunks) if meter.chunks else 0.0,
        "chunk_max": max(meter.chunks, default=0.0),
        "audit_entries": AuditEntry.objects.count() - audit_before,
        "outbox_events": OutboxEvent.objects.count() - events_before,
        "audit_lock_hold_max": max(meter.holds, default=0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", default="odonta_bench", help="A seeded database.")
    parser.add_argument(
        "--server", default="postgres://postgres@127.0.0.1:5432/postgres", help="PostgreSQL URL."
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--update-share", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="Keep the copy for a look after.")
    args = parser.parse_args()

    copy = f"{args.template}_import"
    url = copy_database(args.server, args.template, copy)
    media = tempfile.mkdtemp(prefix="odonta-import-bench-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=url,
        MEDIA_ROOT=media,
        LOG_LEVEL="WARNING",
        CELERY_TASK_ALWAYS_EAGER="true",
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.files.base import ContentFile
    from django.core.management import call_command

    from clinic.models import User
    from clinic.tasks import outbox_dispatch_many
    from patients.models import ImportStatus, PatientImport

    try:
        call_command("migrate", interactive=False, verbosity=0)
        outbox_dispatch_many.delay = lambda event_ids: None  # type: ignore[method-assign]
        content = build_file(args.rows, args.update_share, args.seed)
        admin = User.objects.get(username="admin")
        job = PatientImport.objects.create(
            file=ContentFile(content, name="bench.csv"), original_name="bench.csv", created_by=admin
        )
        results = [run_pass(job.pk, dry_run=True)]
        PatientImport.objects.filter(pk=job.pk).update(
            status=ImportStatus.IMPORTING, processed_rows=0
        )
        results.append(run_pass(job.pk, dry_run=False))
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(args.server, copy)
        with contextlib.suppress(OSError):
            for path in sorted(Path(media).rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            Path(media).rmdir()
    for result in results:
        print(
            "{pass:>8}: {status}, {rows} rows ({new} new, {updated} updated, {unchanged} "
            "unchanged, {invalid} invalid) in {seconds:.1f} s = {rows_per_second:.0f} rows/s, "
            "{queries_per_row:.1f} queries/row, chunk median {chunk_median:.2f} s max "
            "{chunk_max:.2f} s, {audit_entries} audit entries, {outbox_events} events, "
            "audit lock held up to {audit_lock_hold_max:.3f} s {error}".format(**result)
        )


if __name__ == "__main__":
    main()
