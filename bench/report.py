"""Results: a Markdown table and JSON per run (bench/results/<date>-<size>.*), and one
history line per run and scenario (bench/results/history.md) so that a regression shows."""

import json
import math
from pathlib import Path

RATIO_TARGET = 3.0  # app / floor, reads
BARE_NAME = "request.bare"  # scenarios.BARE
LOAD_P95_TARGET = 300.0
WORKER_RSS_TARGET_MB = 300.0
HISTORY_HEADER = (
    "# Benchmark history\n\n"
    "One line per run and scenario; server time in ms (Server-Timing), floor = the minimal "
    "SQL. Newest last.\n\n"
    "| date | size | commit | scenario | p50 | p95 | p99 | queries | floor p50 | app/floor | "
    "target p95 | result |\n"
    "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n"
)


def ms(value: float) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def verdict(value: float, target: float, unit: str = " ms") -> str:
    """ "pass" or "miss by X (Y%)"."""
    if value is None or math.isnan(value):
        return "no data"
    if value <= target:
        return "pass"
    over = value - target
    return f"miss by {ms(over)}{unit} (+{over / target:.0%})"


def assess(result: dict) -> dict:
    checks = {"p95": verdict(result["app_ms"]["p95"], result["target_ms"])}
    if result["kind"] == "read":
        checks["ratio"] = verdict(result["ratio"], RATIO_TARGET, unit="")
        if "ratio_request" in result:
            checks["ratio with the request"] = verdict(
                result["ratio_request"], RATIO_TARGET, unit=""
            )
    if quality := result.get("quality"):
        share, target = quality["share"], quality["target"]
        checks["quality"] = (
            f"{quality['title']} {quality['good']}/{quality['of']} = {share:.1%} "
            f"(target {target:.0%}: {'pass' if share >= target else 'miss'})"
        )
    if result["errors"]:
        checks["errors"] = f"{result['errors']} unexpected responses {result['statuses']}"
    result["verdict"] = checks
    return result


def assess_load(load: dict) -> dict:
    load["verdict"] = {
        "p95": verdict(load["p95_ms"], LOAD_P95_TARGET),
        "errors": "pass" if load["failures"] == 0 else f"miss: {load['failures']} errors",
        "worker_rss": verdict(load["peak_worker_rss_mb"], WORKER_RSS_TARGET_MB, unit=" MB"),
    }
    return load


def ratio_text(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.1f}"


def result_cell(result: dict) -> str:
    parts = []
    for name, value in result["verdict"].items():
        parts.append(value if name == "quality" else f"{name} {value}")
    return "; ".join(parts)


def one_line(result: dict) -> str:
    assess(result)
    app = result["app_ms"]
    return (
        f"p50 {ms(app['p50'])} / p95 {ms(app['p95'])} / p99 {ms(app['p99'])} ms, "
        f"{result['queries']['median']:g} queries, floor p50 {ms(result['floor_ms']['p50'])} ms, "
        f"app/floor {result['ratio']:.1f} -> {result_cell(result)}"
    )


def load_line(load: dict) -> str:
    assess_load(load)
    return (
        f"load: {load['users']} users, {load['rps']:.1f} req/s, p95 {ms(load['p95_ms'])} ms, "
        f"{load['failures']} errors, worker peak RSS {load['peak_worker_rss_mb']:.0f} MB "
        f"-> {'; '.join(f'{k} {v}' for k, v in load['verdict'].items())}"
    )


def markdown(facts: dict, results: list[dict], load: dict | None) -> str:
    host = facts["machine"]
    git = facts["git"]
    lines = [
        f"# Odonta benchmark, size {facts['size']}, {facts['date'][:10]}",
        "",
        f"- Commit `{git['short']}`{' (with local changes)' if git['dirty'] else ''}, "
        f"run at {facts['date']}",
        f"- Machine: {host['cpu']}, {host['cores']} cores, {host['ram_gb']} GB RAM, "
        f"PostgreSQL {host['postgresql']}, Python {host['python']}; load average at start "
        f"{host['load_average_at_start']} (the machine is shared)",
        f"- Data: {', '.join(f'{k} {v:,}' for k, v in facts['data'].items())}",
        f"- Server: gunicorn ({facts['server']['interface'].upper()}) + "
        f"{facts['server']['worker_class']}, "
        f"{facts['server']['workers']} workers, DJANGO_ENV=production",
        f"- Calendar branch: {facts.get('branch', {}).get('name', '?')}, "
        f"{facts.get('branch', {}).get('chairs', '?')} chairs",
        "",
    ]
    if results:
        lines += [
            f"{facts['requests_per_scenario']} measured requests per scenario, one at a time, "
            f"after {facts['warmup_per_scenario']} warm-up requests; parameters vary per request.",
            "",
            "Server time (Server-Timing, ms), SQL queries per request, database floor (ms) and "
            "the ratio of the medians app / floor. Targets are p95 server time; reads also "
            f"app / floor <= {RATIO_TARGET:g}. The second ratio, app / (floor + request), adds "
            f"to each floor the server time of `{BARE_NAME}`, a signed-in request that does "
            "nothing more, measured in the same run: no page can answer faster than that.",
            "",
            "| scenario | p50 | p95 | p99 | queries | floor p50 | floor p95 | app/floor | "
            "app/(floor+request) | target p95 | result |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for result in results:
            assess(result)
            app, floor = result["app_ms"], result["floor_ms"]
            queries = result["queries"]
            query_text = (
                f"{queries['median']:g}"
                if queries["min"] == queries["max"]
                else f"{queries['min']}–{queries['max']}"
            )
            lines.append(
                f"| {result['name']} | {ms(app['p50'])} | {ms(app['p95'])} | {ms(app['p99'])} | "
                f"{query_text} | {ms(floor['p50'])} | {ms(floor['p95'])} | "
                f"{result['ratio']:.1f} | {ratio_text(result.get('ratio_request'))} | "
                f"{result['target_ms']:g} | {result_cell(result)} |"
            )
        lines += ["", "Scenarios:", ""]
        for result in results:
            client = result["client_ms"]
            note = f" Note: {result['note']}." if result["note"] else ""
            lines.append(
                f"- `{result['name']}`: {result['title']}. Client-side p50/p95 "
                f"{ms(client['p50'])}/{ms(client['p95'])} ms.{note}"
            )
    if facts.get("load_error"):
        lines += ["", f"The load test failed: `{facts['load_error']}`."]
    if load:
        assess_load(load)
        lines += [
            "",
            "## Load test",
            "",
            f"locust, headless, loopback; {load['users']} users ({load['mix']}) ramping at "
            f"{load['spawn_rate']:g}/s for {load['duration_s']} s; statistics from when all "
            "users run. Response times are client-side (queueing included).",
            "",
            "| users | requests | req/s | p50 | p95 | p99 | errors | worker peak RSS | "
            "all processes peak RSS |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {load['users']} | {load['requests']:,} | {load['rps']:.1f} | "
            f"{ms(load['p50_ms'])} | {ms(load['p95_ms'])} | {ms(load['p99_ms'])} | "
            f"{load['failures']} | "
            f"{load['peak_worker_rss_mb']:.0f} MB | {load['peak_total_rss_mb']:.0f} MB |",
            "",
            "Targets: p95 "
            f"{LOAD_P95_TARGET:g} ms: {load['verdict']['p95']}; zero errors: "
            f"{load['verdict']['errors']}; worker peak RSS {WORKER_RSS_TARGET_MB:g} MB: "
            f"{load['verdict']['worker_rss']}.",
            "",
            "| request | count | errors | p50 | p95 | p99 |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for row in load["by_request"]:
            lines.append(
                f"| {row['name']} | {row['count']} | {row['failures']} | {ms(row['p50_ms'])} | "
                f"{ms(row['p95_ms'])} | {ms(row['p99_ms'])} |"
            )
        if load.get("errors"):
            lines += ["", "Errors:", ""] + [f"- {e}" for e in load["errors"]]
    return "\n".join(lines) + "\n"


def history_lines(facts: dict, results: list[dict], load: dict | None) -> list[str]:
    date, commit = facts["date"][:16].replace("T", " "), facts["git"]["short"]
    size = facts["size"] + ("" if facts["server"]["interface"] == "asgi" else " (wsgi)")
    rows = []
    for result in results:
        app = result["app_ms"]
        rows.append(
            f"| {date} | {size} | {commit} | {result['name']} | {ms(app['p50'])} | "
            f"{ms(app['p95'])} | {ms(app['p99'])} | {result['queries']['median']:g} | "
            f"{ms(result['floor_ms']['p50'])} | {result['ratio']:.1f} | "
            f"{result['target_ms']:g} | {result_cell(result)} |"
        )
    if load:
        rows.append(
            f"| {date} | {size} | {commit} | load ({load['users']} users, "
            f"{load['rps']:.1f} req/s, {load['failures']} errors, worker RSS "
            f"{load['peak_worker_rss_mb']:.0f} MB) | {ms(load['p50_ms'])} | {ms(load['p95_ms'])} | "
            f"{ms(load['p99_ms'])} | – | – | – | {LOAD_P95_TARGET:g} | "
            f"{'; '.join(f'{k} {v}' for k, v in load['verdict'].items())} |"
        )
    return rows


def _no_nan(value):
    """JSON has no NaN: a missing number becomes null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _no_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_no_nan(item) for item in value]
    return value


def write(folder: Path, facts: dict, results: list[dict], load: dict | None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{facts['date'][:10]}-{facts['size']}"
    if facts["server"]["interface"] != "asgi":
        stem += f"-{facts['server']['interface']}"
    markdown_path = folder / f"{stem}.md"
    json_path = folder / f"{stem}.json"
    markdown_path.write_text(markdown(facts, results, load), encoding="utf-8")
    document = {**facts, "scenarios": results, "load": load}
    json_path.write_text(
        json.dumps(_no_nan(document), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    history = folder / "history.md"
    if not history.exists():
        history.write_text(HISTORY_HEADER, encoding="utf-8")
    with history.open("a", encoding="utf-8") as handle:
        for line in history_lines(facts, results, load):
            handle.write(line + "\n")
    return [markdown_path, json_path, history]
