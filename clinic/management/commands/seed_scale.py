import os
import sys
import time

import dj_database_url
import psycopg
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone
from psycopg import sql

from clinic import scale

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/odonta_bench"


def same_database(current: dict, target: dict) -> bool:
    return all(
        str(current.get(key) or "") == str(target.get(key) or "")
        for key in ("NAME", "HOST", "PORT")
    )


def create_database_if_missing(target: dict) -> bool:
    """CREATE DATABASE through the server's maintenance database; True if it was created."""
    with psycopg.connect(
        dbname="postgres",
        user=target.get("USER") or None,
        password=target.get("PASSWORD") or None,
        host=target.get("HOST") or None,
        port=target.get("PORT") or None,
        autocommit=True,
    ) as maintenance:
        exists = maintenance.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [target["NAME"]]
        ).fetchone()
        if exists:
            return False
        maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target["NAME"])))
        return True


class Command(BaseCommand):
    help = (
        "Fill a PostgreSQL database (odonta_bench by default; created and migrated if needed) "
        "with deterministic network-size data for the benchmarks in bench/."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=list(scale.SIZES), default="S")
        parser.add_argument(
            "--database-url",
            default=os.environ.get("ODONTA_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
            help=f"Target database (default {DEFAULT_DATABASE_URL}).",
        )
        parser.add_argument(
            "--reset", action="store_true", help="Empty the data tables of a filled database first."
        )
        parser.add_argument("--seed", type=int, default=2026, help="Seed of the random streams.")
        parser.add_argument("--migrate", action="store_true", help="Apply migrations first.")
        parser.add_argument(
            "--only",
            default="",
            help="Run only these generators (comma-separated names, e.g. billing) on a seeded "
            "database, emptying their tables first: for a module that came after the seeding. "
            "Only generators that read the database, not the run's shared memory, can run alone.",
        )

    def handle(self, *args, size, database_url, reset, seed, migrate, only, **options):
        target = dj_database_url.parse(database_url)
        if "postgresql" not in target["ENGINE"]:
            raise CommandError("seed_scale needs PostgreSQL (COPY, exclusion constraints).")
        if not same_database(connection.settings_dict, target):
            # Settings are read once per process: start again with the target configured.
            if create_database_if_missing(target):
                self.log(f"Created database {target['NAME']}.")
            argv = [sys.executable, *sys.argv, "--migrate"]
            os.execve(sys.executable, argv, {**os.environ, "DATABASE_URL": database_url})  # noqa: S606
        if migrate:
            call_command("migrate", interactive=False, verbosity=0)
        name = connection.settings_dict["NAME"]
        registrations = scale.autodiscover()
        if only:
            names = {name.strip() for name in only.split(",") if name.strip()}
            unknown = names - {registration.name for registration in registrations}
            if unknown:
                raise CommandError(f"No generator named {', '.join(sorted(unknown))}.")
            registrations = [r for r in registrations if r.name in names]
            self.log(f"Emptying the tables of {', '.join(sorted(names))} in {name}...")
            scale.truncate(registrations)
        elif scale.has_data(registrations):
            if not reset:
                raise CommandError(
                    f"Database {name} already has data; add --reset to empty it and seed again."
                )
            self.log(f"Emptying {name}...")
            scale.truncate(registrations)
        ctx = scale.ScaleContext(
            size=scale.SIZES[size], seed=seed, now=timezone.now(), log=self.log
        )
        self.log(f"Seeding {name} at size {size} ({ctx.size}).")
        started = time.monotonic()
        scale.run(ctx, registrations)
        seconds = time.monotonic() - started
        counts = scale.count_rows(scale.loaded_tables(registrations))
        if not only:  # after --only the database still holds the first seeding's data and date
            with connection.cursor() as cursor:
                # The runner reads this to know what the database holds.
                marker = (
                    f"seed_scale size={size} seed={seed} date={ctx.today} seconds={seconds:.0f}"
                )
                cursor.execute(
                    f"COMMENT ON DATABASE {connection.ops.quote_name(name)} IS %s", [marker]
                )
        for table, count in counts.items():
            self.log(f"  {table:<40} {count:>12,}")
        self.stdout.write(self.style.SUCCESS(f"Seeded {name} at size {size} in {seconds:.0f} s."))

    def log(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
