"""How fast the amoCRM sync is: the initial sync of a clinic's patients against amoCRM's rate
limit, and how long a change takes to reach the other side with the workers running.

    .venv/bin/python bench/amocrm_sync.py [--patients 100000] [--changes 50] [--panel 200]
        [--responsible 50] [--no-app-accounts] [--write]

Everything runs against the fake amoCRM (``integrations.amocrm.fake.FakeAmo``, 7 requests a
second like a real account) started in this process on a fixed free loopback port, and a
database of its own (``ODONTA_AMOBENCH_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/odonta_amobench``: created and migrated when missing;
``--patients`` cards are generated when it does not hold exactly that many) and Redis
database 13 (emptied before and after).

1. **Initial sync** (in this process, as the Celery task runs it): a connection to the
   empty fake with ``settings["rate_limit"] = 7`` and the real Redis rate limiter, then
   ``initial.preview_start`` and ``initial.run(job_id)`` (the dry run), ``initial.job_start``
   and ``initial.run(job_id)`` (the run). Reported: the API requests the fake counted against
   the floor (one write per 50 patients plus the index's reads), the run's wall time against
   the floor of ``patients / 50 / 7`` seconds (target: within 1.2x of both), the preview's
   time, patients a second, where the run's time went (rate limiter waits, HTTP round trips,
   SQL, the rest), and the check that every patient has exactly one contact.
2. **Round trips** with production's processes: Odonta under gunicorn with production
   settings (``harness.Server``), a Celery worker (``celery -A config worker --concurrency
   2``; no beat: the push starts from the outbox event, the webhook's processing from its
   receipt), and the fake delivering its webhooks by itself to
   ``<server>/integrations/amocrm/hook/<secret>/``. Odonta -> amoCRM: a linked patient's
   phone changed through ``patients.services.patient_update`` here, until the contact shows
   it; amoCRM -> Odonta: a contact renamed in the fake's "UI", until the card shows the new
   surname. ``--changes`` of each, one after another, each after the previous one settled;
   p50 / p95 / max against the 5 s target.

Issue 14's reads and writes (each on by default, each skippable). Around them the script
keeps a branch ("Филиал (amobench)") with ``DOCTORS`` doctors on chairs of their own and
shifts tomorrow 09:00-21:00, a manager with a login (the registrar's rights) paired with
the fake's second user, a coordinator paired with its third, the widget's key and the app
account's contact field chosen; the visits and app accounts of the last run are truncated
before the initial sync (visits would give it deals to make).

3. **App accounts, the list run** (``--no-app-accounts`` skips it; so does
   ``--live-initial``), after the initial sync: in bulk, ``APP_SHARES`` of the patients get
   a past visit and an active ``PortalAccount`` / an active account and no visit / a visit
   and a deactivated account never written / nothing. ``app_accounts.job_start`` over every
   activation, run here by ``job_run`` as the Celery task runs it. Reported: requests the
   fake counted against one PATCH per 50 written, wall time against ``written / 50 / 7`` s
   (target within 1.2x of both), the counts (written, up to date, skipped by reason), the
   SQL share, where the time went; then the same run again: nothing written, no request,
   its time against ``TARGET_APP_SECOND_S``.
4. **The deal card's panel** (``--panel N``, 0 skips) under the round trips' gunicorn: a
   linked patient booked tomorrow through the calendar's service (the worker's push makes
   the deal), every doctor busy every other hour; then, one request after another, warm,
   N each: ``POST widget/session/`` with a fresh one-time ``X-Auth-Token`` minted as the
   fake mints it, ``GET panel/<token>/`` (the deal's visit), ``GET panel/<token>/book/
   slots/`` (tomorrow, the branch, any doctor, 30 minutes). p50 / p95 / p99 client ms and
   the SQL queries from ``Server-Timing``, against 100 / 100 / 200 ms at p95.
5. **Responsible round trips** (``--responsible N``, 0 skips): the responsible sync on both
   ways for contacts and deals; a coordinator set through ``patient_update`` until the
   contact's ``responsible_user_id`` is its amoCRM user, a contact's responsible changed in
   the fake's UI until the patient's coordinator is its employee (patients of their own each
   way), p50 / p95 / max against 5 s.

``--write`` keeps the results in ``bench/results/<date>-amocrm.md`` and ``.json`` and appends
lines to ``bench/results/history.md``.
"""

import argparse
import base64
import contextlib
import datetime
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import harness  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/odonta_amobench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
PREFIX = "odonta-amobench"
RATE = 7  # requests a second: amoCRM's limit, the fake's and the connection's
BATCH = 50  # contacts a write
TARGET_RATIO = 1.2  # requests and time within 1.2x of the floor
TARGET_P95_S = 5.0  # a change on the other side within 5 s
CHANGE_TIMEOUT_S = 60.0
POLL_S = 0.02
# The app accounts' list run: percent of the patients that get a visit and an active account
# (written), an active account only (skipped: never booked), a visit and a deactivated
# account never written (skipped: no account), nothing (not in the run).
APP_SHARES = (("written", 80), ("never_booked", 5), ("deactivated", 3), ("no_account", 12))
TARGET_APP_SECOND_S = 30.0  # the second run (nothing to write) of 100,000 patients
# The deal card's panel: the screens measured and their p95 targets (ms).
PANEL_SCREENS = {
    "session": ("POST widget/session/ (a fresh amoCRM token each)", 100.0),
    "show": ("GET panel/<token>/ (the deal's visit)", 100.0),
    "slots": ("GET panel/<token>/book/slots/ (a day, a branch, any doctor)", 200.0),
}
PANEL_WARMUP = 10
DOCTORS = 10  # doctors (each on a chair of their own) with a shift on the panel's day

# The environment every process of the run shares: production settings, one set of keys (the
# worker must read the credentials this process encrypts), the database, Redis db 13.
# Fixed, like harness's audit key, so that a run can read (and delete) the last run's rows.
SHARED_KEYS = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ODONTA_FERNET_KEYS": base64.urlsafe_b64encode(b"odonta-amobench-not-a-secret-key").decode(),
}


def shared_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "DJANGO_ENV": "production",
        "DJANGO_DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": PREFIX,
        "CHANNELS_PREFIX": PREFIX,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "ODONTA_AUDIT_KEYS": "bench:odonta-bench-audit-key-not-a-secret",
        "ODONTA_AUDIT_ANCHOR_PATH": str(Path(tempfile.gettempdir()) / "odonta-amobench.jsonl"),
        # The fake posts its webhooks straight to the server, over plain HTTP: there is no
        # TLS proxy in front to say X-Forwarded-Proto, so no redirect to HTTPS either.
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        **SHARED_KEYS,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=50, help="Changes each way (0: skip).")
    parser.add_argument(
        "--live-initial",
        action="store_true",
        help="Run the initial sync in the worker, with the webhook registered and the server "
        "up (as a clinic would), instead of in this process.",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="Run the initial sync's run under cProfile, into FILE."
    )
    parser.add_argument(
        "--no-app-accounts",
        dest="app_accounts",
        action="store_false",
        help="Skip the app accounts' list run (phase 3; also skipped with --live-initial).",
    )
    parser.add_argument(
        "--panel", type=int, default=200, help="Requests per deal-card panel screen (0: skip)."
    )
    parser.add_argument(
        "--responsible",
        type=int,
        default=50,
        help="Responsible changes each way, the sync on both ways (0: skip).",
    )
    parser.add_argument("--reseed", action="store_true", help="Generate the patients again.")
    parser.add_argument("--write", action="store_true", help="Also write bench/results/.")
    parser.add_argument(
        "--name", default="amocrm", help="Results as bench/results/<date>-<name>.md|json."
    )
    parser.add_argument("--seed", type=int, default=2026)
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
DATABASE_URL = os.environ.get("ODONTA_AMOBENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
REDIS_URL = os.environ.get("ODONTA_AMOBENCH_REDIS_URL", DEFAULT_REDIS_URL)
os.environ.update(shared_env(DATABASE_URL, REDIS_URL))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"


def ensure_database(url: str) -> None:
    """Create the database when missing and migrate it (a no-op when it is up to date)."""
    name = url.rsplit("/", 1)[1]
    server = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [harness.PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=os.environ.copy(),
        check=True,
    )


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


if __name__ == "__main__":
    ensure_database(DATABASE_URL)
    flush_redis()

import django  # noqa: E402

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection as db  # noqa: E402
from django.db import transaction  # noqa: E402

from clinic.models import Gender  # noqa: E402
from clinic.numbering import ensure_at_least  # noqa: E402
from integrations import synclog  # noqa: E402
from integrations.amocrm import initial, outbound  # noqa: E402
from integrations.amocrm.config import CONTACT, DEFAULT_WEBHOOK_EVENTS, SYSTEM  # noqa: E402
from integrations.amocrm.fake import FakeAmo  # noqa: E402
from integrations.amocrm.testing import AmoWorld  # noqa: E402
from integrations.models import (  # noqa: E402
    Connection,
    ExternalLink,
    InboundWebhook,
    SyncDecision,
    SyncJob,
    SyncJobStatus,
    SyncLogEntry,
    SyncQueueItem,
    WebhookStatus,
)
from integrations.ratelimit import RateLimiter  # noqa: E402
from patients import services as patient_services  # noqa: E402
from patients.demo import (  # noqa: E402
    FATHER_NAMES,
    FEMALE_FIRST,
    MALE_FIRST,
    SURNAMES,
    feminine,
    patronymic,
)
from patients.models import Patient  # noqa: E402
from patients.scale import mobile_phone  # noqa: E402
from patients.services import CARD_SEQUENCE  # noqa: E402

GENDERS = ("Мужской", "Женский")


# --- The data -------------------------------------------------------------------------------


def seed_patients(count: int, *, seed: int, reseed: bool) -> float:
    """``count`` cards with Russian names, unique valid mobiles (+7 9xx), birth dates and card
    numbers 1..count; kept when the database holds exactly that many. Returns the seconds."""
    genders = {name: Gender.objects.get_or_create(name=name)[0].pk for name in GENDERS}
    if not reseed and Patient.all_objects.count() == count:
        return 0.0
    started = time.perf_counter()
    with db.cursor() as cursor:
        cursor.execute("TRUNCATE patients_patient RESTART IDENTITY CASCADE")
    rng = random.Random(seed)
    today = datetime.datetime.now().astimezone().date()
    chunk: list[Patient] = []
    for index in range(count):
        female = rng.random() < 0.56
        surname = rng.choice(SURNAMES)
        age = rng.randint(3, 88)
        chunk.append(
            Patient(
                card_number=index + 1,
                last_name=feminine(surname) if female else surname,
                first_name=rng.choice(FEMALE_FIRST if female else MALE_FIRST),
                middle_name=patronymic(rng.choice(FATHER_NAMES), female),
                phone=mobile_phone(index),
                birth_date=datetime.date(today.year - age, rng.randint(1, 12), rng.randint(1, 28)),
                gender_id=genders["Женский" if female else "Мужской"],
            )
        )
        if len(chunk) == 5000:
            Patient.all_objects.bulk_create(chunk)
            chunk = []
    if chunk:
        Patient.all_objects.bulk_create(chunk)
    ensure_at_least(CARD_SEQUENCE, count)
    with db.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE patients_patient")
    return time.perf_counter() - started


def reset_sync_state() -> None:
    """Forget every earlier run: links, jobs, the log, the queue, events and webhooks."""
    with transaction.atomic():
        ExternalLink.objects.filter(system=SYSTEM).delete()
        SyncDecision.objects.all().delete()
        SyncJob.objects.all().delete()
        SyncLogEntry.objects.all().delete()
        SyncQueueItem.objects.all().delete()
        InboundWebhook.objects.all().delete()
        Connection.objects.filter(system=SYSTEM).delete()
        with db.cursor() as cursor:
            cursor.execute("DELETE FROM clinic_outboxevent")
    with db.cursor() as cursor:
        for table in ("integrations_externallink", "integrations_synclogentry"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def connect(fake: FakeAmo, site: str) -> AmoWorld:
    """The connection a clinic's wizard saves, at amoCRM's real rate (AmoWorld's tests use
    1000); its webhook is removed again until the round trips (nothing listens yet)."""
    genders = {str(pk): name for name, pk in Gender.objects.values_list("name", "pk")}
    world = AmoWorld.connect(fake, genders=genders, site=site, rate_limit=RATE)
    with world.client() as client:
        client.webhook_delete(world.hook_url)
    return world


# --- Where the time goes ------------------------------------------------------------------


class Timers:
    """Seconds and calls of a few functions, wrapped for the length of a ``with``."""

    def __init__(self) -> None:
        self.totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)
        totals = self.totals[name]

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[0] += time.perf_counter() - started
                totals[1] += 1

        setattr(owner, attribute, timed)
        self._undo.append((owner, attribute, original))

    def sql(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            totals = self.totals["SQL (every query of the run)"]
            totals[0] += time.perf_counter() - started
            totals[1] += 1

    def _gc(self, phase: str, info: dict) -> None:
        # A collection stops every thread of this process (the fake's included): its pauses
        # delay requests between taking a slot and arriving, which the fake may answer 429.
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        seconds = time.perf_counter() - self._gc_started
        totals = self.totals[f"garbage collection, generation {info['generation']}"]
        totals[0] += seconds
        totals[1] += 1
        self.gc_longest = max(self.gc_longest, seconds)

    @contextlib.contextmanager
    def installed(self):
        import gc

        import httpx

        self.gc_longest = 0.0
        gc.callbacks.append(self._gc)

        self.wrap(RateLimiter, "acquire", "rate limiter (waiting for a slot)")
        self.wrap(RateLimiter, "slow_down", "answers 429 (the rate halved for 60 s)")
        self.wrap(httpx.Client, "send", "HTTP round trips (the fake's work included)")
        self.wrap(FakeAmo, "handle", "the fake answering (its threads, inside the round trips)")
        self.wrap(outbound, "push_patients", "push_patients (a chunk, all of it)")
        self.wrap(outbound, "link_make", "ExternalLink inserts")
        self.wrap(synclog, "log", "sync log inserts")
        # The batched writes, where the code has them.
        if hasattr(outbound, "links_make"):
            self.wrap(outbound, "links_make", "ExternalLink inserts, a batch at once")
        if hasattr(synclog, "log_many"):
            self.wrap(synclog, "log_many", "sync log inserts, a batch at once")
        self.wrap(initial.RemoteIndex, "read", "reading amoCRM's index")
        try:
            with db.execute_wrapper(self.sql):
                yield self
        finally:
            gc.callbacks.remove(self._gc)
            for owner, attribute, original in reversed(self._undo):
                setattr(owner, attribute, original)
            self._undo.clear()

    def table(self) -> dict[str, dict[str, float]]:
        return {
            name: {"seconds": round(seconds, 2), "calls": calls}
            for name, (seconds, calls) in self.totals.items()
        }


# --- 1. The initial sync ------------------------------------------------------------------------


def run_job(job_id: int, *, profile: str | None = None) -> float:
    """``initial.run(job_id)`` as the Celery task calls it; returns the wall seconds."""
    started = time.perf_counter()
    if profile:
        import cProfile

        cProfile.runctx("initial.run(job_id)", globals(), {"job_id": job_id}, profile)
    else:
        initial.run(job_id)
    return time.perf_counter() - started


def initial_sync(fake: FakeAmo, world: AmoWorld, patients: int, profile: str | None) -> dict:
    before = fake.api_request_count
    job = initial.preview_start(world.connection, by=None)
    preview_s = run_job(job.pk)
    job.refresh_from_db()
    preview_requests = fake.api_request_count - before
    if not job.preview.get("ready"):
        raise SystemExit(f"The preview did not finish: {job.status} {job.error}")

    timers = Timers()
    job = initial.job_start(job, by=None)
    before = fake.api_request_count
    with timers.installed():
        run_s = run_job(job.pk, profile=profile)
    job.refresh_from_db()
    run_requests = fake.api_request_count - before
    if job.status != SyncJobStatus.DONE:
        raise SystemExit(f"The run did not finish: {job.status} {job.error}")

    writes = -(-patients // BATCH)
    reads = 2  # the index: amoCRM's contacts (one empty page) and the pipeline's deals
    floor_requests = writes + reads
    floor_s = patients / BATCH / RATE
    check = check_links(fake, patients)
    return {
        "patients": patients,
        "preview": {
            "seconds": round(preview_s, 2),
            "requests": preview_requests,
            "counts": job.preview,
        },
        "run": {
            "seconds": round(run_s, 1),
            "requests": run_requests,
            "floor_requests": floor_requests,
            "floor_writes": writes,
            "floor_seconds": round(floor_s, 1),
            "requests_ratio": round(run_requests / floor_requests, 3),
            "time_ratio": round(run_s / floor_s, 3),
            "patients_per_second": round(patients / run_s, 1),
            "requests_per_second": round(run_requests / run_s, 2),
            "job": {
                "processed": job.processed,
                "created": job.created,
                "linked": job.linked,
                "failed": job.failed,
                "decisions": job.decisions,
            },
            "answers_429": timers.totals["answers 429 (the rate halved for 60 s)"][1],
            "longest_gc_pause_ms": round(timers.gc_longest * 1000, 1),
            "time": timers.table(),
            "profile": profile or "",
        },
        "check": check,
        "target_ratio": TARGET_RATIO,
    }


def check_links(fake: FakeAmo, patients: int) -> dict:
    """Every patient has exactly one contact: one link each, as many contacts as patients,
    and each contact carries the card number of the patient linked to it."""
    with fake.lock:
        mis_field = fake.state.field("contacts", "MIS_ID")["id"]
        by_contact = {}
        for contact_id, contact in fake.state.contacts.items():
            values = [
                value["value"]
                for entry in contact.get("custom_fields_values") or []
                if entry["field_id"] == mis_field
                for value in entry["values"]
            ]
            by_contact[contact_id] = values[0] if values else None
    patient_type = ContentType.objects.get_for_model(Patient)
    links = list(
        ExternalLink.objects.filter(
            system=SYSTEM, external_type=CONTACT, content_type=patient_type
        ).values_list("object_id", "external_id")
    )
    cards = dict(Patient.all_objects.values_list("pk", "card_number"))
    linked_patients = {object_id for object_id, _ in links}
    linked_contacts = {external_id for _, external_id in links}
    mismatched = sum(
        1
        for object_id, external_id in links
        if str(by_contact.get(int(external_id))) != str(cards.get(int(object_id)))
    )
    ok = (
        len(by_contact) == patients
        and len(links) == patients
        and len(linked_patients) == patients
        and len(linked_contacts) == patients
        and mismatched == 0
    )
    return {
        "contacts_in_fake": len(by_contact),
        "links": len(links),
        "patients_linked": len(linked_patients),
        "contacts_linked": len(linked_contacts),
        "mis_id_mismatches": mismatched,
        "every_patient_one_contact": ok,
    }


# --- 2. Round trips with the workers running ----------------------------------------------------


class AmoServer(harness.Server):
    """harness.Server with this run's environment (its keys, Redis db, no HTTPS redirect)."""

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            **shared_env(self.database_url, self.redis_url),
            "STATIC_ROOT": self.static_root,
        }


class Worker:
    """``celery -A config worker --concurrency 2``, with the same environment."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="odonta-amobench-worker-", suffix=".log")[1])

    def start(self) -> None:
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                str(harness.VENV_BIN / "celery"),
                "-A",
                "config",
                "worker",
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
                "--hostname",
                f"amobench-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker stopped at start; see {self.log_path}")
            if " ready." in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.3)
        raise RuntimeError(f"the worker was not ready in 90 s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def tasks(self) -> dict[str, int]:
        """Tasks the worker finished, by name (from its log)."""
        counts: dict[str, int] = defaultdict(int)
        for line in self.log_path.read_text(errors="replace").splitlines():
            if "succeeded in" in line and "Task " in line:
                name = line.split("Task ", 1)[1].split("[", 1)[0]
                counts[name] += 1
        return dict(counts)


def settled(fake: FakeAmo) -> bool:
    """Nothing moves: no undelivered webhook or event, an empty push queue."""
    from clinic.models import OutboxEvent

    return (
        fake.pending_webhooks == 0
        and not delivering(fake)
        and not OutboxEvent.objects.filter(
            dispatched_at__isnull=True, failed_at__isnull=True
        ).exists()
        and not SyncQueueItem.objects.exists()
        and not InboundWebhook.objects.exclude(status=WebhookStatus.PROCESSED).exists()
    )


def delivering(fake: FakeAmo) -> bool:
    """The fake is posting webhooks now: they have left its queue (``pending_webhooks`` is
    0) but not all have arrived. Its delivery holds ``_deliver_lock`` meanwhile."""
    lock = fake._deliver_lock
    if not lock.acquire(blocking=False):
        return True
    lock.release()
    return False


def wait_settled(fake: FakeAmo, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if settled(fake):
            return True
        time.sleep(0.05)
    return False


def wait_for(condition, timeout: float = CHANGE_TIMEOUT_S) -> float | None:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if condition():
            return time.perf_counter() - started
        time.sleep(POLL_S)
    return None


def linked_sample(count: int, rng: random.Random) -> list[tuple[int, int]]:
    """(patient id, contact id) of ``2 * count`` distinct linked patients."""
    links = list(
        ExternalLink.objects.filter(system=SYSTEM, external_type=CONTACT).values_list(
            "object_id", "external_id"
        )
    )
    chosen = rng.sample(links, min(len(links), 2 * count))
    return [(int(object_id), int(external_id)) for object_id, external_id in chosen]


def fresh_phone(start: int) -> tuple[str, int]:
    number = start
    while True:
        phone = mobile_phone(number)
        if not Patient.all_objects.filter(phone=phone).exists():
            return phone, number + 1
        number += 1


Change = tuple[Callable[[], Any], Callable[[], bool]]


def timed_changes(
    fake: FakeAmo, pairs: list[tuple[int, int]], prepare: Callable[[int, int], Change]
) -> dict[str, Any]:
    """One change per (patient, contact), each after the previous one settled: ``prepare``
    returns the change to make and the check that it arrived on the other side; the
    seconds from making it to its arrival (p50 / p95 / max), the misses, the API requests."""
    times: list[float] = []
    misses = 0
    before = fake.api_request_count
    for patient_id, contact_id in pairs:
        act, arrived = prepare(patient_id, contact_id)
        started = time.perf_counter()
        act()
        if wait_for(arrived) is None:
            misses += 1
        else:
            times.append(time.perf_counter() - started)
        wait_settled(fake)
    return {**summary(times), "missed": misses, "api_requests": fake.api_request_count - before}


def round_trips(fake: FakeAmo, world: AmoWorld, changes: int, seed: int) -> dict:
    rng = random.Random(seed)
    sample = linked_sample(changes, rng)
    outgoing, incoming = sample[:changes], sample[changes:]
    result: dict[str, Any] = {}

    # Odonta -> amoCRM: a phone changed at the front desk.
    next_number = Patient.all_objects.count() + rng.randint(0, 10_000_000)

    def new_phone(patient_id: int, contact_id: int) -> Change:
        nonlocal next_number
        phone, next_number = fresh_phone(next_number)
        patient = Patient.all_objects.get(pk=patient_id)
        return (
            lambda: patient_services.patient_update(
                patient=patient, by=None, data={"phone": phone}
            ),
            lambda: fake.contact_field_value(contact_id, "PHONE") == phone,
        )

    result["to_amocrm"] = timed_changes(fake, outgoing, new_phone)

    # amoCRM -> Odonta: a manager renames a contact.
    def new_surname(patient_id: int, contact_id: int) -> Change:
        patient = Patient.all_objects.get(pk=patient_id)
        surname = rng.choice([s for s in SURNAMES if s not in patient.last_name])
        female = patient.last_name.endswith("а") and patient.middle_name.endswith("вна")
        last = feminine(surname) if female else surname
        name = " ".join(filter(None, [last, patient.first_name, patient.middle_name]))
        return (
            lambda: fake.ui_update_contact(contact_id, name=name),
            lambda: Patient.all_objects.filter(pk=patient_id, last_name=last).exists(),
        )

    result["to_odonta"] = timed_changes(fake, incoming, new_surname)
    result["webhooks"] = webhook_answers(fake)
    result["changes"] = changes
    result["target_p95_s"] = TARGET_P95_S
    return result


def summary(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"n": 0, "p50_s": None, "p95_s": None, "max_s": None}
    return {
        "n": len(seconds),
        "p50_s": round(harness.percentile(seconds, 50), 3),
        "p95_s": round(harness.percentile(seconds, 95), 3),
        "max_s": round(max(seconds), 3),
        "mean_s": round(sum(seconds) / len(seconds), 3),
    }


@contextlib.contextmanager
def workers_running(world: AmoWorld):
    """The server and a worker, and the account's webhook registered to the server."""
    flush_redis()  # the initial sync's task messages (it ran here) and its limiter window
    server = AmoServer(database_url=DATABASE_URL, redis_url=REDIS_URL, workers=2, port=world.port)
    worker = Worker()
    try:
        server.start()
        worker.start()
        with world.client() as client:
            client.webhook_add(world.hook_url, list(DEFAULT_WEBHOOK_EVENTS))
        yield server, worker
    finally:
        worker.stop()
        server.stop()


def live_initial_sync(fake: FakeAmo, world: AmoWorld, patients: int) -> dict:
    """The initial sync as a clinic runs it: in the worker (``preview_start`` and
    ``job_start`` enqueue it), with the webhook registered, so amoCRM tells Odonta about every
    contact the sync creates while it runs. Wall time from ``job_start`` to the job done, and
    to everything settled (the webhooks of the last contacts processed)."""
    before = fake.api_request_count
    started = time.perf_counter()
    job = initial.preview_start(world.connection, by=None)
    while not SyncJob.objects.get(pk=job.pk).preview.get("ready"):
        time.sleep(0.1)
    preview_s = time.perf_counter() - started
    preview_requests = fake.api_request_count - before
    before = fake.api_request_count
    started = time.perf_counter()
    job = initial.job_start(SyncJob.objects.get(pk=job.pk), by=None)
    while (job := SyncJob.objects.get(pk=job.pk)).status == SyncJobStatus.RUNNING:
        time.sleep(0.2)
    run_s = time.perf_counter() - started
    run_requests = fake.api_request_count - before
    wait_settled(fake, timeout=1800)
    settled_s = time.perf_counter() - started
    writes = -(-patients // BATCH)
    floor_s = patients / BATCH / RATE
    return {
        "patients": patients,
        "status": job.status,
        "error": job.error,
        "preview": {"seconds": round(preview_s, 2), "requests": preview_requests},
        "run": {
            "seconds": round(run_s, 1),
            "requests": run_requests,
            "requests_until_settled": fake.api_request_count - before,
            "settled_seconds": round(settled_s, 1),
            "floor_requests": writes + 2,
            "floor_seconds": round(floor_s, 1),
            "requests_ratio": round(run_requests / (writes + 2), 3),
            "time_ratio": round(run_s / floor_s, 3),
        },
        "webhooks_stored": InboundWebhook.objects.count(),
        "webhooks_failed_once": InboundWebhook.objects.filter(attempts__gt=1).count()
        + InboundWebhook.objects.exclude(status=WebhookStatus.PROCESSED).count(),
        "check": check_links(fake, patients),
    }


def webhook_answers(fake: FakeAmo) -> dict:
    log = fake.webhook_log
    seconds = [entry["seconds"] for entry in log if entry["outcome"] in ("delivered", "invalid")]
    return {
        "requests": len(log),
        "delivered": sum(1 for entry in log if entry["outcome"] == "delivered"),
        "answer_ms": {
            key: None if value is None else round(value * 1000, 1)
            for key, value in summary(seconds).items()
            if key in ("p50_s", "p95_s", "max_s")
        },
    }


# --- The clinic around the new phases ----------------------------------------------------------

BENCH_SOURCE = "amobench"  # Appointment.source of the visits this script writes in bulk
APP_FIELD = "Аккаунт приложения"  # the fake's text contact field the app accounts go to


def clinic_setup(fake: FakeAmo, world: AmoWorld) -> dict[str, Any]:
    """A branch with ``DOCTORS`` doctors on chairs of their own, shifts on the panel's day
    (tomorrow, 09:00-21:00), a manager with a login (the registrar's rights) paired with the
    fake's second user, a coordinator paired with its third, the widget's key (the fake's
    client secret). Kept from run to run; the shifts are made again."""
    from calendar_app.models import WorkShift
    from clinic import demo
    from clinic.models import Branch, Chair, Employee, Profession, ProfessionKind, User
    from integrations.amocrm.sync import settings_update

    branch = Branch.objects.filter(name="Филиал (amobench)").first() or Branch.objects.create(
        name="Филиал (amobench)"
    )
    therapist = Profession.objects.filter(name="Терапевт (amobench)").first()
    therapist = therapist or Profession.objects.create(
        name="Терапевт (amobench)", kind=ProfessionKind.DOCTOR
    )
    staff = Profession.objects.filter(name="Администратор (amobench)").first()
    staff = staff or Profession.objects.create(
        name="Администратор (amobench)", kind=ProfessionKind.STAFF
    )

    def employee(last: str, first: str, kind: str, profession, user=None) -> Employee:
        found = Employee.objects.filter(last_name=last, first_name=first).first()
        if found is None:
            found = Employee.objects.create(last_name=last, first_name=first, kind=kind, user=user)
            found.branches.set([branch])
            found.professions.set([profession])
        return found

    chairs, doctors = [], []
    for number in range(1, DOCTORS + 1):
        chair = Chair.objects.filter(branch=branch, name=f"Кресло {number}").first()
        chairs.append(chair or Chair.objects.create(branch=branch, name=f"Кресло {number}"))
        doctors.append(employee(f"Врачёв-{number}", "Иван", ProfessionKind.DOCTOR, therapist))
    user = User.objects.filter(username="amobench-manager").first()
    if user is None:
        user = User.objects.create_user(username="amobench-manager", password=harness.PASSWORD)
        user.language = "ru"
        user.save(update_fields=["language"])
    user.groups.set([demo.ensure_rights_groups()["registrar"].group])
    manager = employee("Менеджерова", "Анна", ProfessionKind.STAFF, staff, user)
    coordinator = employee("Координаторов", "Олег", ProfessionKind.STAFF, staff)

    day = datetime.datetime.now(branch.zone).date() + datetime.timedelta(days=1)
    with db.cursor() as cursor:
        cursor.execute("DELETE FROM calendar_app_workshift")
    for doctor, chair in zip(doctors, chairs, strict=True):
        start = datetime.datetime.combine(day, datetime.time(9), tzinfo=branch.zone)
        WorkShift.objects.create(
            doctor=doctor, chair=chair, branch=branch, start=start, end=start.replace(hour=21)
        )
    amo_users = fake.user_ids  # the administrator, then two managers
    settings_update(
        world.connection,
        users={str(manager.pk): amo_users[1], str(coordinator.pk): amo_users[2]},
        contact_fields={
            **world.connection.settings["contact_fields"],
            "app_account": fake.field_id("contacts", APP_FIELD),
        },
    )
    world.connection.set_credentials(
        {**world.connection.get_credentials(), "widget_secret": fake.client_secret}
    )
    world.connection.save()
    return {
        "branch": branch,
        "chairs": chairs,
        "doctors": doctors,
        "manager": manager,
        "user": user,
        "coordinator": coordinator,
        "day": day,
        "amo_users": amo_users,
    }


def forget_bench_rows() -> None:
    """The visits and app accounts of an earlier run (before the initial sync: visits would
    give it deals to make). The bench database holds no other visits."""
    with db.cursor() as cursor:
        cursor.execute("TRUNCATE calendar_app_appointment, patients_portalaccount CASCADE")
        cursor.execute("UPDATE patients_patient SET coordinator_id = NULL")


# --- 3. The app accounts, a list run ----------------------------------------------------------


def seed_app_accounts(clinic: dict, seed: int) -> dict[str, int]:
    """Patients in shuffled order: ``APP_SHARES`` percent each get a past visit and an active
    account (written), an active account and no visit (never booked), a visit and a
    deactivated account never written (no account), or nothing (not in the run). Visits one
    after another on one chair, 20 minutes apart over the last years (no overlap); accounts
    activated over the last year. Bulk inserts: no events, nothing pushed."""
    from calendar_app.models import Appointment, StatusCode
    from patients.models import PortalAccount

    started = time.perf_counter()
    rng = random.Random(seed + 14)
    ids = list(Patient.all_objects.order_by("pk").values_list("pk", flat=True))
    rng.shuffle(ids)
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    # 20 minutes apart, the last one a day ago (100,000 patients: the last 3.8 years).
    first_visit = now - datetime.timedelta(days=1, minutes=20 * len(ids))
    doctor, chair, branch = clinic["doctors"][0], clinic["chairs"][0], clinic["branch"]
    cuts = []
    total = 0
    for _name, share in APP_SHARES:
        total += share
        cuts.append(total)
    counts: dict[str, int] = defaultdict(int)
    visits: list[Appointment] = []
    accounts: list[PortalAccount] = []

    def flush(force: bool = False) -> None:
        if visits and (force or len(visits) >= 5000):
            Appointment.all_objects.bulk_create(visits, batch_size=5000)
            visits.clear()
        if accounts and (force or len(accounts) >= 5000):
            PortalAccount.objects.bulk_create(accounts, batch_size=5000)
            accounts.clear()

    for index, pk in enumerate(ids):
        share = index % 100
        kind = next(name for (name, _s), cut in zip(APP_SHARES, cuts, strict=True) if share < cut)
        counts[kind] += 1
        if kind in ("written", "deactivated"):
            start = first_visit + datetime.timedelta(minutes=20 * index)
            visits.append(
                Appointment(
                    patient_id=pk,
                    doctor=doctor,
                    chair=chair,
                    branch=branch,
                    start=start,
                    end=start + datetime.timedelta(minutes=15),
                    status=StatusCode.COMPLETED,
                    source=BENCH_SOURCE,
                )
            )
        if kind in ("written", "never_booked", "deactivated"):
            activated = now - datetime.timedelta(
                days=rng.randint(1, 365), minutes=rng.randint(0, 1439)
            )
            accounts.append(
                PortalAccount(
                    patient_id=pk,
                    login=f"app{pk}@patients.example",
                    is_active=kind != "deactivated",
                    activated_at=activated,
                    deactivated_at=now if kind == "deactivated" else None,
                )
            )
        flush()
    flush(force=True)
    with db.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE calendar_app_appointment")
        cursor.execute("VACUUM ANALYZE patients_portalaccount")
    return {**counts, "seconds": round(time.perf_counter() - started, 1)}


def app_job(world: AmoWorld, timers: Timers | None = None) -> tuple[SyncJob, float]:
    """A list run over every activation (the last 400 days) as the patients list starts it
    (``job_start``), run here as the Celery task runs it (``job_run``)."""
    from integrations.amocrm import app_accounts

    today = datetime.datetime.now().astimezone().date() + datetime.timedelta(days=1)
    job = app_accounts.job_start(
        world.connection,
        by=None,
        date_from=today - datetime.timedelta(days=400),
        date_to=today,
    )
    started = time.perf_counter()
    if timers is None:
        app_accounts.job_run(job.pk)
    else:
        with timers.installed():
            app_accounts.job_run(job.pk)
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    if job.status != SyncJobStatus.DONE:
        raise SystemExit(f"The app accounts run did not finish: {job.status} {job.error}")
    return job, seconds


def app_values_in_fake(fake: FakeAmo) -> int:
    """Contacts whose app account field holds a value."""
    field_id = fake.field_id("contacts", APP_FIELD)
    with fake.lock:
        return sum(
            1
            for contact in fake.state.contacts.values()
            for entry in contact.get("custom_fields_values") or []
            if entry["field_id"] == field_id and entry.get("values")
        )


def app_accounts_phase(fake: FakeAmo, world: AmoWorld, clinic: dict, seed: int) -> dict:
    from clinic.models import Organization
    from integrations.amocrm import app_accounts

    seeded = seed_app_accounts(clinic, seed)
    print(f"App accounts seeded: {seeded}", flush=True)
    runs = []
    for attempt in ("first", "second"):
        timers = Timers()
        timers.wrap(app_accounts, "sync_patients", "sync_patients (a chunk, all of it)")
        timers.wrap(Organization, "load", "Organization.load (the clinic's zone, a cache read)")
        before = fake.api_request_count
        job, seconds = app_job(world, timers)
        requests = fake.api_request_count - before
        summary_ = job.preview
        written = summary_["written"]
        floor_requests = -(-written // BATCH)
        floor_s = written / BATCH / RATE
        sql = timers.totals["SQL (every query of the run)"]
        runs.append(
            {
                "run": attempt,
                "seconds": round(seconds, 1),
                "requests": requests,
                "total": job.total,
                "processed": job.processed,
                "written": written,
                "up_to_date": summary_["up_to_date"],
                "skipped": summary_["skipped"],
                "failed": job.failed,
                "floor_requests": floor_requests,
                "floor_seconds": round(floor_s, 1),
                "requests_ratio": round(requests / floor_requests, 3) if floor_requests else None,
                "time_ratio": round(seconds / floor_s, 3) if floor_s else None,
                "sql_seconds": round(sql[0], 1),
                "sql_queries": sql[1],
                "sql_share": round(sql[0] / seconds, 3) if seconds else None,
                "answers_429": timers.totals["answers 429 (the rate halved for 60 s)"][1],
                "time": {
                    name: row
                    for name, row in timers.table().items()
                    if row["calls"] and not name.startswith(("push_patients", "ExternalLink"))
                },
            }
        )
        print(json.dumps(runs[-1], ensure_ascii=False, indent=2), flush=True)
    return {
        "seeded": seeded,
        "runs": runs,
        "values_in_fake": app_values_in_fake(fake),
        "target_ratio": TARGET_RATIO,
        "target_second_s": TARGET_APP_SECOND_S,
    }


# --- 4. The deal card's panel under production's server ---------------------------------------


def panel_deal(fake: FakeAmo, world: AmoWorld, clinic: dict) -> tuple[int, int]:
    """A linked patient booked through the calendar's service on the panel's day; the
    worker's push makes the deal. Returns (visit id, deal id)."""
    from calendar_app import services as calendar
    from calendar_app.models import Appointment
    from integrations.amocrm.config import LEAD

    patient_id, _contact = linked_sample(1, random.Random(7))[0]
    start = datetime.datetime.combine(clinic["day"], datetime.time(9), tzinfo=clinic["branch"].zone)
    visit = calendar.appointment_book(
        by=clinic["user"],
        patient=Patient.all_objects.get(pk=patient_id),
        doctor=clinic["doctors"][0],
        chair=clinic["chairs"][0],
        start=start,
        end=start + datetime.timedelta(minutes=45),
        services=[],
    )
    # A busier day: every doctor has a visit every other hour (bulk, no deals).
    sample = [pk for pk, _c in linked_sample(6 * DOCTORS, random.Random(8))]
    busy = []
    for number, (doctor, chair) in enumerate(zip(clinic["doctors"], clinic["chairs"], strict=True)):
        for hour in range(11, 21, 2):
            at = datetime.datetime.combine(clinic["day"], datetime.time(hour), tzinfo=start.tzinfo)
            busy.append(
                Appointment(
                    patient_id=sample[(number * 6 + hour) % len(sample)],
                    doctor=doctor,
                    chair=chair,
                    branch=clinic["branch"],
                    start=at,
                    end=at + datetime.timedelta(minutes=60),
                    source=BENCH_SOURCE,
                )
            )
    Appointment.all_objects.bulk_create(busy)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        link = ExternalLink.objects.filter(
            system=SYSTEM,
            external_type=LEAD,
            object_id=str(visit.pk),
            content_type=ContentType.objects.get_for_model(Appointment),
        ).first()
        if link is not None:
            return visit.pk, int(link.external_id)
        time.sleep(0.1)
    raise SystemExit("The panel's visit got no deal in 30 s")


def timed(http, method: str, url: str, **kwargs) -> tuple[Any, float, float, int]:
    started = time.perf_counter()
    response = http.request(method, url, **kwargs)
    wall = (time.perf_counter() - started) * 1000
    app_ms, queries = harness.server_timing(response)
    return response, wall, app_ms, queries


def panel_phase(fake: FakeAmo, world: AmoWorld, server, clinic: dict, n: int) -> dict:
    import httpx

    from integrations.amocrm.fake_widget import mint_token
    from integrations.amocrm.widget import SESSION_PATH

    visit_id, lead_id = panel_deal(fake, world, clinic)
    site = server.url
    user_id = clinic["amo_users"][1]
    slots_query = {
        "branch": clinic["branch"].pk,
        "doctor": "",
        "duration": 30,
        "date": clinic["day"].isoformat(),
    }
    rows: dict[str, dict[str, list[float]]] = {
        key: {"wall": [], "app": [], "queries": []} for key in PANEL_SCREENS
    }
    statuses: dict[str, set[int]] = defaultdict(set)
    slots_offered = 0
    with httpx.Client(base_url=site, timeout=30) as http:

        def session() -> tuple[Any, float, float, int]:
            return timed(
                http,
                "POST",
                SESSION_PATH,
                data={"lead_id": lead_id},
                headers={"X-Auth-Token": mint_token(fake, aud=site, user_id=user_id)},
            )

        first = session()[0]
        if first.status_code != 200:
            raise SystemExit(f"The widget session was refused: {first.status_code} {first.text}")
        panel_path = httpx.URL(first.json()["url"]).path
        requests = {
            "session": session,
            "show": lambda: timed(http, "GET", panel_path),
            "slots": lambda: timed(http, "GET", panel_path + "book/slots/", params=slots_query),
        }
        show = requests["show"]()[0]
        if show.status_code != 200 or "data-panel-status" not in show.text:
            raise SystemExit(f"The panel did not show the visit: {show.status_code}")
        for key, call in requests.items():
            for _ in range(PANEL_WARMUP):
                call()
            for _ in range(n):
                response, wall, app_ms, queries = call()
                statuses[key].add(response.status_code)
                rows[key]["wall"].append(wall)
                rows[key]["app"].append(app_ms)
                rows[key]["queries"].append(queries)
                if key == "slots":
                    slots_offered = response.text.count("data-panel-slot=")
    result: dict[str, Any] = {
        "n": n,
        "visit_id": visit_id,
        "lead_id": lead_id,
        "slots_offered": slots_offered,
        "doctors": DOCTORS,
    }
    for key, row in rows.items():
        wall = harness.summary(row["wall"])
        app = harness.summary(row["app"])
        result[key] = {
            "statuses": sorted(statuses[key]),
            "p50_ms": round(wall["p50"], 1),
            "p95_ms": round(wall["p95"], 1),
            "p99_ms": round(wall["p99"], 1),
            "app_p95_ms": round(app["p95"], 1),
            "queries": sorted(set(int(q) for q in row["queries"])),
            "target_p95_ms": PANEL_SCREENS[key][1],
        }
    return result


# --- 5. Responsible round trips --------------------------------------------------------------


def contact_responsible(fake: FakeAmo, contact_id: int) -> int | None:
    """The contact's responsible, read from the fake's store (``fake.contacts`` renders every
    contact under the fake's lock: at 100,000 that held its request threads for seconds)."""
    with fake.lock:
        return fake.state.contacts[contact_id].get("responsible_user_id")


def responsible_phase(fake: FakeAmo, world: AmoWorld, clinic: dict, changes: int, seed: int):
    """Both switches on for contacts and deals; a coordinator changed in Odonta until the
    contact shows its amoCRM user, a contact's responsible changed in the fake's UI until
    the patient's coordinator is its employee. Patients of their own (neither the other
    direction's nor the round trips')."""
    from integrations.amocrm.sync import settings_update

    settings_update(
        world.connection,
        responsible={
            "in": {"contact": True, "lead": True},
            "out": {"contact": True, "lead": True},
            "settle_seconds": 5,
        },
    )
    rng = random.Random(seed + 2)
    sample = linked_sample(changes, rng)
    outgoing, incoming = sample[:changes], sample[changes:]
    manager, coordinator = clinic["manager"], clinic["coordinator"]
    to_user, from_user = clinic["amo_users"][1], clinic["amo_users"][2]
    result: dict[str, Any] = {}

    def odonta_change(patient_id: int, contact_id: int) -> Change:
        patient = Patient.all_objects.get(pk=patient_id)
        return (
            lambda: patient_services.patient_update(
                patient=patient, by=None, data={"coordinator": manager}
            ),
            lambda: contact_responsible(fake, contact_id) == to_user,
        )

    def amocrm_change(patient_id: int, contact_id: int) -> Change:
        return (
            lambda: fake.ui_update_contact(contact_id, responsible_user_id=from_user),
            lambda: Patient.all_objects.filter(
                pk=patient_id, coordinator_id=coordinator.pk
            ).exists(),
        )

    result["to_amocrm"] = timed_changes(fake, outgoing, odonta_change)
    result["to_odonta"] = timed_changes(fake, incoming, amocrm_change)
    result["changes"] = changes
    result["target_p95_s"] = TARGET_P95_S
    return result


# --- Reporting ----------------------------------------------------------------------------------


def verdict(value: float | None, target: float) -> str:
    if value is None:
        return "**no data**"
    return "pass" if value <= target else f"**miss** (+{(value / target - 1) * 100:.0f} %)"


def report(
    facts: dict, initial_result: dict | None, trips: dict | None, live: dict | None = None
) -> str:
    dirty = " (with local changes)" if facts["git"]["dirty"] else ""
    lines = [
        f"# amoCRM sync ({facts['date']})",
        "",
        f"Commit `{facts['git']['short']}`{dirty}, "
        f"database `{facts['database']}`, on {facts['machine']['cores']} cores "
        f"({facts['machine']['cpu']}, load average at start "
        f"{' '.join(str(x) for x in facts['machine']['load_average_at_start'])}), "
        f"PostgreSQL {facts['machine']['postgresql']}. The fake amoCRM answers "
        f"{RATE} requests a second (a 429 above that), in this process.",
        "",
    ]
    if initial_result:
        run = initial_result["run"]
        check = initial_result["check"]
        preview = initial_result["preview"]
        lines += [
            f"## Initial sync of {initial_result['patients']:,} patients",
            "",
            "| what | measured | floor | ratio | target |",
            "|---|---:|---:|---:|---|",
            f"| API requests of the run | {run['requests']:,} | {run['floor_requests']:,} "
            f"({run['floor_writes']:,} writes of {BATCH} + 2 reads) | {run['requests_ratio']} "
            f"| ≤ {TARGET_RATIO}: {verdict(run['requests_ratio'], TARGET_RATIO)} |",
            f"| wall time of the run | {run['seconds']} s | {run['floor_seconds']} s "
            f"(patients / {BATCH} / {RATE}) | {run['time_ratio']} "
            f"| ≤ {TARGET_RATIO}: {verdict(run['time_ratio'], TARGET_RATIO)} |",
            "",
            f"{run['patients_per_second']} patients a second, {run['requests_per_second']} "
            f"requests a second, {run['answers_429']} answers 429 (the longest garbage "
            f"collection pause of this process, the fake's contacts in its memory: "
            f"{run['longest_gc_pause_ms']} ms). The preview (the dry run) took "
            f"{preview['seconds']} s and {preview['requests']} requests. The job: "
            + ", ".join(f"{k} {v:,}" for k, v in run["job"].items())
            + ".",
            "",
            "Every patient has exactly one contact: "
            f"**{'yes' if check['every_patient_one_contact'] else 'NO'}** "
            f"({check['contacts_in_fake']:,} contacts in the fake, {check['links']:,} links, "
            f"{check['patients_linked']:,} patients and {check['contacts_linked']:,} contacts "
            f"linked, {check['mis_id_mismatches']} contacts whose MIS ID is not their patient's "
            "card number).",
            "",
            "Where the run's time went (wrapped functions; nested rows overlap, the fake's "
            "threads run inside the round trips):",
            "",
            "| what | seconds | calls |",
            "|---|---:|---:|",
        ]
        for name, row in run["time"].items():
            lines.append(f"| {name} | {row['seconds']} | {row['calls']:,} |")
        lines.append("")
    if trips:
        lines += [
            "## A change on the other side, with the workers running "
            f"({trips['changes']} each way)",
            "",
            "Odonta under gunicorn with production settings, a Celery worker "
            "(`--concurrency 2`, no beat), the fake delivering its webhooks to the server. "
            "Seconds from the change to the other side showing it, one change at a time:",
            "",
            "| direction | n | p50 s | p95 s | max s | missed | API requests | target p95 |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for key, title in (
            ("to_amocrm", "Odonta -> amoCRM (a phone, `patient_update`)"),
            ("to_odonta", "amoCRM -> Odonta (a contact's name, the fake's UI)"),
        ):
            row = trips[key]
            result = verdict(row["p95_s"], TARGET_P95_S) if not row["missed"] else "**miss** (lost)"
            lines.append(
                f"| {title} | {row['n']} | {row['p50_s']} | {row['p95_s']} | {row['max_s']} | "
                f"{row['missed']} | {row['api_requests']} | < {TARGET_P95_S} s: {result} |"
            )
        hooks = trips["webhooks"]
        lines += [
            "",
            f"Webhooks: {hooks['requests']} requests, {hooks['delivered']} delivered, answered "
            f"in {hooks['answer_ms']['p50_s']} ms (p50), {hooks['answer_ms']['p95_s']} ms (p95), "
            f"{hooks['answer_ms']['max_s']} ms at most (amoCRM allows 2 s). Worker "
            "tasks: "
            + ", ".join(
                f"{name.rsplit('.', 1)[-1]} {count}"
                for name, count in sorted(trips["worker_tasks"].items())
            )
            + ".",
            "",
        ]
    if live:
        run = live["run"]
        check = live["check"]
        lines += [
            f"## The initial sync in the worker, webhooks on ({live['patients']:,} patients)",
            "",
            "As a clinic runs it: `preview_start` and `job_start` enqueue the job, the worker "
            "runs it, the account's webhook is registered, so amoCRM reports every contact the "
            "sync creates while it runs (and the worker processes those reports, on the same "
            "rate limit).",
            "",
            "| what | measured | floor | ratio |",
            "|---|---:|---:|---:|",
            f"| API requests until the job was done | {run['requests']:,} | "
            f"{run['floor_requests']:,} | {run['requests_ratio']} |",
            f"| wall time until the job was done | {run['seconds']} s | {run['floor_seconds']} s "
            f"| {run['time_ratio']} |",
            f"| until every webhook was processed | {run['settled_seconds']} s, "
            f"{run['requests_until_settled']:,} requests | | |",
            "",
            f"Job {live['status']}; {live['webhooks_stored']:,} webhooks stored, "
            f"{live['webhooks_failed_once']:,} failed at least once; every patient has exactly "
            f"one contact: **{'yes' if check['every_patient_one_contact'] else 'NO'}** "
            f"({check['contacts_in_fake']:,} contacts, {check['links']:,} links).",
            "",
        ]
    return "\n".join(lines)


def report_issue14(results: dict) -> str:
    """The report's sections of issue 14's reads and writes."""
    lines: list[str] = []
    apps = results.get("app_accounts")
    if apps:
        seeded = apps["seeded"]
        first, second = apps["runs"]
        lines += [
            "## App accounts: the list run over every activation",
            "",
            f"After the initial sync: {seeded.get('written', 0):,} patients with a past visit "
            f"and an active app account, {seeded.get('never_booked', 0):,} with an active "
            f"account and no visit, {seeded.get('deactivated', 0):,} with a visit and a "
            f"deactivated account never written, {seeded.get('no_account', 0):,} without an "
            f"account (bulk inserts, {seeded['seconds']} s). The `SyncJob` of kind "
            "`app_accounts` over the last 400 days' activations, started by `job_start` and "
            "run here by `job_run` as the Celery task runs it (the real Redis rate limiter, "
            f"{RATE} requests a second).",
            "",
            "| run | accounts | written | up to date | skipped | failed | requests (floor) "
            "| ratio | wall s (floor) | ratio | SQL s (queries, share) |",
            "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        for run in (first, second):
            skipped = ", ".join(f"{k} {v:,}" for k, v in sorted(run["skipped"].items())) or "0"
            lines.append(
                f"| {run['run']} | {run['processed']:,} | {run['written']:,} | "
                f"{run['up_to_date']:,} | {skipped} | {run['failed']} | {run['requests']:,} "
                f"({run['floor_requests']:,}) | {run['requests_ratio'] or '–'} | "
                f"{run['seconds']} ({run['floor_seconds']}) | {run['time_ratio'] or '–'} | "
                f"{run['sql_seconds']} ({run['sql_queries']:,}, "
                f"{round((run['sql_share'] or 0) * 100)} %) |"
            )
        lines += [
            "",
            f"First run against the floor (written / {BATCH} per request, {RATE} requests a "
            f"second; target ≤ {TARGET_RATIO}x): requests "
            f"{verdict(first['requests_ratio'], TARGET_RATIO)}, wall time "
            f"{verdict(first['time_ratio'], TARGET_RATIO)}; {first['answers_429']} answers "
            f"429. Contacts in the fake holding an app account: {apps['values_in_fake']:,} "
            f"(written: {first['written']:,}). Second run (nothing to write): "
            f"{second['written']} written, {second['requests']} requests, {second['seconds']} s "
            f"(target < {TARGET_APP_SECOND_S:.0f} s: "
            f"{verdict(second['seconds'], TARGET_APP_SECOND_S)}).",
            "",
            "Where the runs' time went (wrapped functions; nested rows overlap):",
            "",
            "| what | first s | calls | second s | calls |",
            "|---|---:|---:|---:|---:|",
        ]
        for name in first["time"].keys() | second["time"].keys():
            a = first["time"].get(name, {"seconds": 0, "calls": 0})
            b = second["time"].get(name, {"seconds": 0, "calls": 0})
            lines.append(
                f"| {name} | {a['seconds']} | {a['calls']:,} | {b['seconds']} | {b['calls']:,} |"
            )
        lines.append("")
    panel_result = results.get("panel")
    if panel_result:
        lines += [
            f"## The deal card's panel under production's server (n = {panel_result['n']} "
            "each, warm, one after another)",
            "",
            "gunicorn with production settings (2 workers) on this bench's database: "
            f"{ARGS.patients if ARGS else '?':,} patients, not size L's 500,000, one branch "
            f"with {panel_result['doctors']} doctors on shifts that day. A manager with a "
            "login (the registrar's rights) is matched to the fake's user; each session is "
            "asked with a new one-time `X-Auth-Token` minted as the fake mints it (HS256, "
            f"the widget's key). The deal {panel_result['lead_id']} has a visit. Client-side "
            "milliseconds (loopback HTTP included); queries from the server's "
            "`Server-Timing` header:",
            "",
            "| request | statuses | p50 ms | p95 ms | p99 ms | server p95 ms | SQL queries "
            "| target p95 |",
            "|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for key, (title, target) in PANEL_SCREENS.items():
            row = panel_result[key]
            queries = "/".join(str(q) for q in row["queries"])
            lines.append(
                f"| {title} | {'/'.join(str(s) for s in row['statuses'])} | {row['p50_ms']} | "
                f"{row['p95_ms']} | {row['p99_ms']} | {row['app_p95_ms']} | {queries} | "
                f"< {target:.0f} ms: {verdict(row['p95_ms'], target)} |"
            )
        lines += [
            "",
            f"The slots page offered {panel_result['slots_offered']} start times.",
            "",
        ]
    resp = results.get("responsible")
    if resp:
        lines += [
            f"## The responsible, both ways on, with the workers running ({resp['changes']} "
            "each way)",
            "",
            "Responsible sync switched on in and out for contacts and deals. Seconds from the "
            "change to the other side showing it, one at a time:",
            "",
            "| direction | n | p50 s | p95 s | max s | missed | API requests | target p95 |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for key, title in (
            ("to_amocrm", "Odonta -> amoCRM (a coordinator, `patient_update`)"),
            ("to_odonta", "amoCRM -> Odonta (a contact's responsible, the fake's UI)"),
        ):
            row = resp[key]
            result = verdict(row["p95_s"], TARGET_P95_S) if not row["missed"] else "**miss** (lost)"
            lines.append(
                f"| {title} | {row['n']} | {row['p50_s']} | {row['p95_s']} | {row['max_s']} | "
                f"{row['missed']} | {row['api_requests']} | < {TARGET_P95_S} s: {result} |"
            )
        lines.append("")
    return "\n".join(lines)


def history_issue14(facts: dict, results: dict) -> list[str]:
    stamp = facts["date"][:16].replace("T", " ")
    head = f"| {stamp} | amoCRM | {facts['git']['short']} |"
    lines = []
    apps = results.get("app_accounts")
    if apps:
        first, second = apps["runs"]
        ok = [r <= TARGET_RATIO for r in (first["time_ratio"] or 0, first["requests_ratio"] or 0)]
        lines.append(
            f"{head} amocrm.app_accounts ({first['processed']:,} accounts: {first['written']:,} "
            f"written in {first['seconds']} s vs floor {first['floor_seconds']} s; "
            f"{first['requests']:,} requests vs {first['floor_requests']:,}; second run "
            f"{second['seconds']} s, {second['requests']} requests) | – | – | – | – | – | – | "
            f"{TARGET_RATIO}x floor | time {first['time_ratio']}x "
            f"{'pass' if ok[0] else 'miss'}; requests {first['requests_ratio']}x "
            f"{'pass' if ok[1] else 'miss'}; second "
            f"{'pass' if second['seconds'] < TARGET_APP_SECOND_S else 'miss'} |"
        )
    panel_result = results.get("panel")
    if panel_result:
        for key, (_title, target) in PANEL_SCREENS.items():
            row = panel_result[key]
            queries = max(row["queries"]) if row["queries"] else "–"
            lines.append(
                f"{head} amocrm.panel_{key} (100k patients) | {row['p50_ms']} | {row['p95_ms']} "
                f"| {row['p99_ms']} | {queries} | – | – | {target:.0f} | "
                f"p95 {'pass' if row['p95_ms'] <= target else 'miss'} |"
            )
    resp = results.get("responsible")
    if resp:
        for key in ("to_amocrm", "to_odonta"):
            row = resp[key]
            ms = {
                k: "–" if row[k] is None else f"{row[k] * 1000:.0f}"
                for k in ("p50_s", "p95_s", "max_s")
            }
            ok = row["p95_s"] is not None and row["p95_s"] < TARGET_P95_S and not row["missed"]
            lines.append(
                f"{head} amocrm.responsible_{key} (ms, p99 = max of {row['n']}) | {ms['p50_s']} "
                f"| {ms['p95_s']} | {ms['max_s']} | – | – | – | {TARGET_P95_S * 1000:.0f} | "
                f"p95 {'pass' if ok else 'miss'} |"
            )
    return lines


def git_commit() -> dict:
    """harness.git_commit, with the results folder's own files not counted as changes."""
    facts = harness.git_commit()
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {**facts, "dirty": bool(changed)}


def history_lines(facts: dict, initial_result: dict | None, trips: dict | None) -> list[str]:
    stamp = facts["date"][:16].replace("T", " ")
    head = f"| {stamp} | amoCRM | {facts['git']['short']} |"
    lines = []
    if initial_result:
        run = initial_result["run"]
        lines.append(
            f"{head} amocrm.initial ({initial_result['patients']:,} patients: run "
            f"{run['seconds']} s vs floor {run['floor_seconds']} s; {run['requests']:,} requests "
            f"vs {run['floor_requests']:,}) | – | – | – | – | – | – | {TARGET_RATIO}x floor | "
            f"time {run['time_ratio']}x {'pass' if run['time_ratio'] <= TARGET_RATIO else 'miss'}; "
            f"requests {run['requests_ratio']}x "
            f"{'pass' if run['requests_ratio'] <= TARGET_RATIO else 'miss'} |"
        )
    if trips:
        for key in ("to_amocrm", "to_odonta"):
            row = trips[key]
            ms = {
                k: "–" if row[k] is None else f"{row[k] * 1000:.0f}"
                for k in ("p50_s", "p95_s", "max_s")
            }
            ok = row["p95_s"] is not None and row["p95_s"] < TARGET_P95_S and not row["missed"]
            lines.append(
                f"{head} amocrm.{key} (ms, p99 = max of {row['n']}) | {ms['p50_s']} | "
                f"{ms['p95_s']} | {ms['max_s']} | – | – | – | {TARGET_P95_S * 1000:.0f} | "
                f"p95 {'pass' if ok else 'miss'} |"
            )
    return lines


def main() -> int:
    args = ARGS
    assert args is not None
    # A plain kill stops the run through its finally blocks: the server and the worker
    # (sessions of their own) stop with it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    seeded_s = seed_patients(args.patients, seed=args.seed, reseed=args.reseed)
    forget_bench_rows()
    reset_sync_state()
    facts = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "database": DATABASE_URL.rsplit("/", 1)[1],
        "git": git_commit(),
        "machine": harness.machine(DATABASE_URL),
        "patients": args.patients,
        "seeded_seconds": round(seeded_s, 1),
    }
    print(f"{args.patients:,} patients ready ({seeded_s:.1f} s to generate)", flush=True)
    port = harness.free_port()
    with FakeAmo(rps=RATE, auto_deliver=True, port=harness.free_port()) as fake:
        world = connect(fake, site=f"http://127.0.0.1:{port}")
        world.port = port  # type: ignore[attr-defined]
        initial_result = live = trips = None
        issue14: dict[str, Any] = {"app_accounts": None, "panel": None, "responsible": None}
        if not args.live_initial:
            initial_result = initial_sync(fake, world, args.patients, args.profile)
            print(json.dumps(initial_result, ensure_ascii=False, indent=2), flush=True)
        clinic = clinic_setup(fake, world)
        if args.app_accounts and not args.live_initial:
            issue14["app_accounts"] = app_accounts_phase(fake, world, clinic, args.seed)
        if args.live_initial or args.changes or args.panel or args.responsible:
            with workers_running(world) as (server, worker):
                if args.live_initial:
                    live = live_initial_sync(fake, world, args.patients)
                    print(json.dumps(live, ensure_ascii=False, indent=2), flush=True)
                if args.changes:
                    trips = round_trips(fake, world, args.changes, args.seed)
                    trips["worker_tasks"] = worker.tasks()
                    trips["logs"] = {"server": str(server.log_path), "worker": str(worker.log_path)}
                    print(json.dumps(trips, ensure_ascii=False, indent=2), flush=True)
                if args.panel:
                    issue14["panel"] = panel_phase(fake, world, server, clinic, args.panel)
                    print(json.dumps(issue14["panel"], ensure_ascii=False, indent=2), flush=True)
                    wait_settled(fake)
                if args.responsible:
                    issue14["responsible"] = responsible_phase(
                        fake, world, clinic, args.responsible, args.seed
                    )
                    print(
                        json.dumps(issue14["responsible"], ensure_ascii=False, indent=2),
                        flush=True,
                    )
    flush_redis()
    text = report(facts, initial_result, trips, live) + report_issue14(issue14)
    print(text)
    if args.write:
        day = datetime.datetime.now().astimezone().date()
        stem = BENCH / "results" / f"{day:%Y-%m-%d}-{args.name}"
        stem.with_suffix(".md").write_text(text, encoding="utf-8")
        stem.with_suffix(".json").write_text(
            json.dumps(
                {
                    **facts,
                    "initial": initial_result,
                    "live_initial": live,
                    "round_trips": trips,
                    **issue14,
                },
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
        with (BENCH / "results" / "history.md").open("a", encoding="utf-8") as handle:
            for line in history_lines(facts, initial_result, trips) + history_issue14(
                facts, issue14
            ):
                handle.write(line + "\n")
        print(f"Wrote {stem.with_suffix('.md').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
