"""Benchmark Odonta at a data size: seed if needed, serve it as production does, measure each
scenario's server time, SQL queries and database floor, then a mixed load test; write the
results to bench/results/.

    .venv/bin/python bench/run.py --size S            # seed S if odonta_bench is not S
    .venv/bin/python bench/run.py --size L --no-load  # scenarios only
    .venv/bin/python bench/run.py --size M --only slots --requests 100

It never fails a build: it reports misses against the targets (exit status 0 unless the
run itself breaks).
"""

import argparse
import datetime
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import redis
import report
from harness import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    PYTHON,
    ROOT,
    Client,
    Server,
    git_commit,
    machine,
    server_timing,
    summary,
)
from load import run_load
from scenarios import BARE, Context, Scenario, load_context, registrar_of, scenarios

SIZES = ["XS", "S", "M", "L"]


def seeded_size(database_url: str) -> str | None:
    """The size ``seed_scale`` recorded in the database's comment, if it finished."""
    try:
        with psycopg.connect(database_url) as db:
            comment = db.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = current_database()"
            ).fetchone()[0]
    except psycopg.OperationalError:
        return None
    for part in (comment or "").split():
        if part.startswith("size="):
            return part[5:]
    return None


def ensure_seeded(database_url: str, size: str, *, reseed: bool) -> None:
    if not reseed and seeded_size(database_url) == size:
        print(f"odonta_bench holds size {size}: no seeding needed.")
        return
    print(f"Seeding size {size} (this replaces what the database holds)...", flush=True)
    started = time.monotonic()
    subprocess.run(
        [PYTHON, "manage.py", "seed_scale", "--size", size, "--database-url", database_url,
         "--reset"],
        cwd=ROOT,
        check=True,
    )  # fmt: skip
    print(f"Seeded in {time.monotonic() - started:.0f} s.", flush=True)


def measure(ctx: Context, scenario: Scenario, *, requests: int, warmup: int) -> dict:
    """Warm up, then ``requests`` requests with varied parameters, one at a time; then the
    floor over the same parameters (before the requests for writes, whose floor is rolled
    back and must find the time still free)."""
    params = scenario.params(ctx, warmup + requests)

    def floor() -> list[float]:
        times = []
        for index, param in enumerate(params):
            started = time.perf_counter()
            scenario.floor(ctx.db, param)
            if index >= warmup:
                times.append((time.perf_counter() - started) * 1000)
        return times

    floor_ms = floor() if scenario.kind == "write" else []
    app_ms, client_ms, queries, errors, statuses = [], [], [], 0, {}
    good = 0
    try:
        for index, param in enumerate(params):
            started = time.perf_counter()
            response = scenario.call(ctx.client, param)
            elapsed = (time.perf_counter() - started) * 1000
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code not in scenario.expect:
                errors += 1
                if errors <= 3:
                    print(f"    {scenario.name}: {response.status_code} for {param!r}")
            if scenario.quality and response.status_code in scenario.expect:
                good += scenario.quality(param, response)
            if index < warmup:
                continue
            app, count = server_timing(response)
            app_ms.append(app)
            client_ms.append(elapsed)
            queries.append(count)
    finally:
        if scenario.cleanup:
            scenario.cleanup(ctx.db, params)
    if scenario.kind != "write":
        floor_ms = floor()
    app, floor_summary = summary(app_ms), summary(floor_ms)
    ratio = app["p50"] / floor_summary["p50"] if floor_summary["p50"] else float("nan")
    quality = None
    if scenario.quality:
        quality = {
            "title": scenario.quality_title,
            "good": good,
            "of": len(params),
            "share": good / len(params) if params else float("nan"),
            "target": scenario.quality_target,
        }
    return {
        "quality": quality,
        "name": scenario.name,
        "title": scenario.title,
        "kind": scenario.kind,
        "note": scenario.note,
        "target_ms": scenario.target_ms,
        "requests": len(app_ms),
        "app_ms": app,
        "client_ms": summary(client_ms),
        "queries": {
            "min": min(queries, default=0),
            "median": statistics.median(queries) if queries else 0,
            "max": max(queries, default=0),
        },
        "floor_ms": floor_summary,
        "ratio": ratio,
        "ratio_p95": app["p95"] / floor_summary["p95"] if floor_summary["p95"] else float("nan"),
        "errors": errors,
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
    }


def with_request_floor(results: list[dict]) -> None:
    """Each read's second ratio: app / (its floor + the bare signed-in request's server time,
    measured in the same run). No request can take less than the bare one, so that is the
    floor the stack sets under the database's."""
    bare = next((r for r in results if r["name"] == BARE), None)
    if bare is None:
        return
    for result in results:
        if result["kind"] == "read" and result is not bare:
            result["request_ms"] = bare["app_ms"]["p50"]
            result["ratio_request"] = result["app_ms"]["p50"] / (
                result["floor_ms"]["p50"] + bare["app_ms"]["p50"]
            )


def row_count(db: psycopg.Connection, table: str) -> int:
    """The planner's estimate (no scan of millions of rows); counted for a table that was
    never analysed, whose estimate is -1."""
    estimate = db.execute(
        "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table]
    ).fetchone()[0]
    if estimate >= 0:
        return estimate
    return db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=SIZES, default="S")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--reseed", action="store_true", help="Seed again even if seeded.")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2).")
    parser.add_argument(
        "--interface",
        choices=["asgi", "wsgi"],
        default="asgi",
        help="asgi: production's uvicorn workers (default); wsgi: sync workers, to compare.",
    )
    parser.add_argument("--requests", type=int, default=300, help="Measured per scenario.")
    parser.add_argument("--warmup", type=int, default=30, help="Discarded per scenario.")
    parser.add_argument(
        "--only", default="", help="Scenarios whose name contains this (several: a,b)."
    )
    parser.add_argument("--no-load", action="store_true", help="Skip the load test.")
    parser.add_argument("--load-only", action="store_true", help="Only the load test.")
    parser.add_argument("--users", type=int, default=100, help="Load test: concurrent users.")
    parser.add_argument("--spawn-rate", type=float, default=1.0, help="Load test: users/s.")
    parser.add_argument("--duration", type=int, default=300, help="Load test: seconds.")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--results", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()

    ensure_seeded(args.database_url, args.size, reseed=args.reseed)
    started_at = datetime.datetime.now().astimezone()
    facts = {
        "size": args.size,
        "date": started_at.isoformat(timespec="seconds"),
        "git": git_commit(),
        "machine": machine(args.database_url),
        "seed_marker": seeded_size(args.database_url),
        "server": {
            "workers": args.workers,
            "interface": args.interface,
            "worker_class": "uvicorn_worker.UvicornWorker" if args.interface == "asgi" else "sync",
        },
        "requests_per_scenario": args.requests,
        "warmup_per_scenario": args.warmup,
    }
    with psycopg.connect(args.database_url, autocommit=True) as db:
        facts["data"] = {
            table: row_count(db, table)
            for table in (
                "patients_patient",
                "calendar_app_appointment",
                "calendar_app_workshift",
                "patients_patientevent",
                "clinic_branch",
                "clinic_chair",
            )
        }
    cache = redis.Redis.from_url(args.redis_url)
    cache.flushdb()  # this run's own Redis database: stale sessions and queued tasks go
    server = Server(args.database_url, args.redis_url, args.workers, args.interface)
    results: list[dict] = []
    load: dict | None = None
    try:
        with server.running(), psycopg.connect(args.database_url, autocommit=True) as db:
            print(
                f"Odonta is up at {server.url} ({args.interface}, {args.workers} workers).",
                flush=True,
            )
            client = Client(server.url)
            ctx = load_context(db, client, args.seed)
            client.login(registrar_of(db, ctx.branch_id))
            facts["branch"] = {"name": ctx.branch_name, "chairs": len(ctx.chairs)}
            if not args.load_only:
                for scenario in scenarios(ctx):
                    wanted = [part for part in args.only.split(",") if part]
                    chosen = not wanted or any(part in scenario.name for part in wanted)
                    if not chosen and scenario.name != BARE:  # the bare request always runs
                        continue
                    print(f"  {scenario.name}...", flush=True)
                    result = measure(ctx, scenario, requests=args.requests, warmup=args.warmup)
                    results.append(result)
                    print("    " + report.one_line(result), flush=True)
            with_request_floor(results)
            client.close()
            if not args.no_load:
                try:
                    load = run_load(server, db, ctx, args)
                    print("  " + report.load_line(load), flush=True)
                except Exception as error:  # the scenarios' results are still worth writing
                    facts["load_error"] = repr(error)
                    print(f"  load test failed: {error!r}", flush=True)
    finally:
        cache.flushdb()
    paths = report.write(Path(args.results), facts, results, load)
    for path in paths:
        print(f"Wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
