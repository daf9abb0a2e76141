"""The load test: log the sessions in, run locust headless against the server, sample the
memory of the server's processes meanwhile, and read locust's statistics."""

import csv
import datetime
import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil
import psycopg
from harness import ROOT, VENV_BIN, Client, Server
from scenarios import Context, name_queries, phone_queries

_sessions: dict[str, dict] = {}


def _login(server: Server, username: str) -> dict:
    """One session per account, shared by the locust users of that account (several front
    desks of a branch on one login). allauth limits logins per address and minute: wait."""
    if username in _sessions:
        return _sessions[username]
    deadline = time.monotonic() + 300
    while True:
        client = Client(server.url)
        try:
            client.login(username)
            session = {
                "sessionid": client.cookies["sessionid"],
                "csrftoken": client.cookies["csrftoken"],
            }
            break
        except RuntimeError as error:
            if "429" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(5)
        finally:
            client.close()
    _sessions[username] = session
    return session


def prepare_pools(server: Server, db: psycopg.Connection, ctx: Context, users: int) -> dict:
    """Sessions for a quarter of the users as doctors and the rest as front desks (one per
    locust user, logged in now so that logins do not count in the load), and what they
    pick from."""
    doctors_wanted = max(1, users // 4)
    branches = db.execute(
        "SELECT id, position FROM clinic_branch WHERE deleted_at IS NULL ORDER BY position"
    ).fetchall()
    front_desk = []
    for index in range(users - doctors_wanted):
        branch_id, position = branches[index % len(branches)]
        doctors = [row[0] for row in db.execute(
            "SELECT employee_id FROM clinic_employee_branches eb JOIN clinic_employee e "
            "ON e.id = eb.employee_id WHERE eb.branch_id = %s AND e.kind = 'doctor'",
            [branch_id],
        )]  # fmt: skip
        front_desk.append(
            {**_login(server, f"registrar{position}"), "branch": branch_id, "doctors": doctors}
        )
    start = datetime.datetime.now(datetime.UTC)
    doctor_rows = db.execute(
        "SELECT e.id, u.username FROM clinic_employee e JOIN clinic_user u ON u.id = e.user_id "
        "WHERE e.kind = 'doctor' AND e.deleted_at IS NULL ORDER BY e.id LIMIT %s",
        [doctors_wanted],
    ).fetchall()
    doctors = []
    for doctor_id, username in doctor_rows:
        taps = db.execute(
            "SELECT id, status FROM calendar_app_appointment WHERE doctor_id = %s "
            "AND deleted_at IS NULL AND status IN ('planned', 'confirmed') "
            "AND start > %s AND start < %s ORDER BY start LIMIT 60",
            [doctor_id, start, start + datetime.timedelta(days=7)],
        ).fetchall()
        doctors.append({**_login(server, username), "doctor": doctor_id, "taps": taps})
    return {
        "today": ctx.today.isoformat(),
        "front_desk": front_desk,
        "doctors": doctors,
        "names": name_queries(ctx, 500),
        "phones": phone_queries(ctx, 500),
        "patients": [row[0] for row in ctx.patients[:5000]],
        "services": [service for service, _price in ctx.services],
    }


class MemorySampler(threading.Thread):
    """Peak RSS of each server process and of all of them together, every half second."""

    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server = server
        self.stop = threading.Event()
        self.peak_worker = 0
        self.peak_total = 0

    def run(self) -> None:
        master = psutil.Process(self.server.process.pid)
        while not self.stop.is_set():
            total = 0
            for process in [master, *self.server.worker_processes()]:
                try:
                    rss = process.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                total += rss
                if process.pid != master.pid:
                    self.peak_worker = max(self.peak_worker, rss)
            self.peak_total = max(self.peak_total, total)
            self.stop.wait(0.5)


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("nan")


def run_load(server: Server, db: psycopg.Connection, ctx: Context, args) -> dict:
    print(f"  load test: logging {args.users} sessions in...", flush=True)
    pools = prepare_pools(server, db, ctx, args.users)
    folder = Path(tempfile.mkdtemp(prefix="odonta-bench-load-"))
    pools_path = folder / "pools.json"
    pools_path.write_text(json.dumps(pools), encoding="utf-8")
    sampler = MemorySampler(server)
    sampler.start()
    print(
        f"  load test: {args.users} users, +{args.spawn_rate:g}/s, {args.duration} s...",
        flush=True,
    )
    started = time.monotonic()
    result = subprocess.run(
        [
            str(VENV_BIN / "locust"),
            "-f", str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "--users", str(args.users),
            "--spawn-rate", str(args.spawn_rate),
            "--run-time", f"{args.duration}s",
            "--host", server.url,
            "--csv", str(folder / "load"),
            "--reset-stats",
            "--only-summary",
            "--stop-timeout", "10",
            "--loglevel", "WARNING",
        ],
        cwd=ROOT,
        env={**os.environ, "ODONTA_BENCH_POOLS": str(pools_path)},
        capture_output=True,
        text=True,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    sampler.stop.set()
    sampler.join()
    rows = list(csv.DictReader((folder / "load_stats.csv").open(encoding="utf-8")))
    failures = list(csv.DictReader((folder / "load_failures.csv").open(encoding="utf-8")))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    by_request = [
        {
            "name": row["Name"],
            "count": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "p50_ms": _number(row["50%"]),
            "p95_ms": _number(row["95%"]),
            "p99_ms": _number(row["99%"]),
        }
        for row in rows
        if row["Name"] != "Aggregated"
    ]
    return {
        "users": args.users,
        "mix": "3 front desk : 1 doctor; think time 2-5 s and 3-8 s",
        "spawn_rate": args.spawn_rate,
        "duration_s": args.duration,
        "elapsed_s": round(elapsed),
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "rps": _number(total["Requests/s"]),
        "p50_ms": _number(total["50%"]),
        "p95_ms": _number(total["95%"]),
        "p99_ms": _number(total["99%"]),
        "peak_worker_rss_mb": sampler.peak_worker / 2**20,
        "peak_total_rss_mb": sampler.peak_total / 2**20,
        "by_request": by_request,
        "errors": [
            f"{row['Method']} {row['Name']}: {row['Error']} ({row['Occurrences']}×)"
            for row in failures
        ],
        "locust_exit": result.returncode,
        "locust_output": result.stderr[-2000:],
    }
