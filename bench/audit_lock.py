"""What the audit chain's single lock costs (clinic.audit.lock_chain: one advisory lock,
held from the append to COMMIT, so that the chain never forks).

    # during a load test (bench/run.py --load-only) in another shell: how often a request
    # waits for the lock, and how many entries were appended
    .venv/bin/python bench/audit_lock.py sample --seconds 300
    # the ceiling: appends per second with 1-16 concurrent writers, with the lock and
    # without it (a variant that may fork the chain: measurement only)
    .venv/bin/python bench/audit_lock.py appends --threads 1,2,4,8,16 --seconds 10

Both read DATABASE_URL (the benchmark database, never the test suite's). ``appends`` writes
audit entries there; it prints a JSON summary.
"""

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from clinic import audit  # noqa: E402
from clinic.models import AuditEntry, Branch  # noqa: E402

# One row per sample: how many backends wait for the chain lock, and what its holder is
# doing (NULL when nobody holds it). An advisory lock on a bigint key shows in pg_locks as
# classid (high 32 bits) and objid (low 32 bits).
PROBE = """
SELECT
    (SELECT count(*) FROM pg_locks
     WHERE locktype = 'advisory' AND NOT granted AND classid = 0 AND objid = %(key)s
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())),
    (SELECT a.state FROM pg_locks l JOIN pg_stat_activity a USING (pid)
     WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = %(key)s
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     LIMIT 1)
"""


def newest_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def sample(seconds: float, interval: float) -> dict:
    """Sample the chain lock: the share of time it is held (the serial fraction, which
    bounds appends/s at appends / held share), what its holder is doing, and the waiters."""
    first_id, started = newest_id(), time.monotonic()
    samples, with_waiters, waiters_total, waiters_max = 0, 0, 0, 0
    holder_states: dict[str, int] = {}
    with connection.cursor() as cursor:
        while time.monotonic() - started < seconds:
            cursor.execute(PROBE, {"key": audit.AUDIT_CHAIN_LOCK})
            waiting, holder_state = cursor.fetchone()
            samples += 1
            with_waiters += waiting > 0
            waiters_total += waiting
            waiters_max = max(waiters_max, waiting)
            if holder_state is not None:
                holder_states[holder_state] = holder_states.get(holder_state, 0) + 1
            time.sleep(interval)
    elapsed = time.monotonic() - started
    appended = AuditEntry.objects.filter(id__gt=first_id).count()
    held = sum(holder_states.values()) / samples
    return {
        "seconds": round(elapsed, 1),
        "samples": samples,
        "appended": appended,
        "appends_per_s": round(appended / elapsed, 2),
        "share_held": round(held, 4),
        "holder_state_shares": {k: round(v / samples, 4) for k, v in holder_states.items()},
        "mean_hold_ms": round(1000 * held * elapsed / appended, 1) if appended else None,
        "ceiling_appends_per_s": round(appended / elapsed / held, 1) if held else None,
        "share_with_a_waiter": round(with_waiters / samples, 4),
        "mean_waiters": round(waiters_total / samples, 4),
        "max_waiters": waiters_max,
    }


def appends(threads: int, seconds: float, hold_ms: float) -> float:
    """Appends per second with ``threads`` writers; each transaction keeps working for
    ``hold_ms`` after its append (as a booking does: the outbox row, then COMMIT)."""
    branch = Branch.objects.order_by("id").first()
    counts = [0] * threads
    start = threading.Barrier(threads + 1)
    stop = threading.Event()

    def writer(index: int) -> None:
        start.wait()
        while not stop.is_set():
            with transaction.atomic():
                audit.record(actor=None, action="update", obj=branch, changes={"bench": [0, 1]})
                if hold_ms:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_sleep(%s)", [hold_ms / 1000])
            counts[index] += 1
        connection.close()

    workers = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    return sum(counts) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sampling = sub.add_parser("sample")
    sampling.add_argument("--seconds", type=float, default=300)
    sampling.add_argument("--interval", type=float, default=0.02)
    appending = sub.add_parser("appends")
    appending.add_argument("--threads", default="1,2,4,8,16")
    appending.add_argument("--seconds", type=float, default=10)
    appending.add_argument("--hold-ms", default="0,2", help="Work after the append, in ms.")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("The benchmark needs PostgreSQL (DATABASE_URL).")
    if args.command == "sample":
        print(json.dumps(sample(args.seconds, args.interval), indent=2))
        return 0
    locked_chain = audit.lock_chain
    results = []
    for variant in ("locked", "unlocked"):
        # The unlocked variant lets concurrent appends fork the chain: measurement only.
        audit.lock_chain = locked_chain if variant == "locked" else (lambda: [])
        for hold_ms in [float(x) for x in args.hold_ms.split(",")]:
            for threads in [int(x) for x in args.threads.split(",")]:
                rate = appends(threads, args.seconds, hold_ms)
                results.append(
                    {"variant": variant, "hold_ms": hold_ms, "threads": threads, "per_s": rate}
                )
                print(f"{variant:8} hold {hold_ms:g} ms, {threads:2} writers: {rate:7.1f}/s")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
