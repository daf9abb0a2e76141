"""The pieces every benchmark run shares: the server under test, an HTTP client that logs
in like a browser behind the TLS proxy, timing and percentiles, facts about the machine."""

import contextlib
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/odonta_bench"
# A Redis database of its own, so that the benchmark's cache, sessions and queued tasks
# never mix with the test suite's (1) or a developer's (0).
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
PASSWORD = "odonta-bench"  # clinic.scale.SCALE_PASSWORD: every generated login has it


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": math.nan, "p95": math.nan, "p99": math.nan, "mean": math.nan, "n": 0}
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "mean": sum(values) / len(values),
        "n": len(values),
    }


# --- The server under test ------------------------------------------------------------


@dataclass
class Server:
    """Odonta as production runs it: DJANGO_ENV=production, DEBUG off, gunicorn with uvicorn
    workers on the ASGI application, collected static files, PostgreSQL and Redis. Only the
    Server-Timing middleware is added (ODONTA_SERVER_TIMING=1)."""

    database_url: str
    redis_url: str
    workers: int
    # "asgi" is production's (gunicorn + uvicorn workers, config.asgi); "wsgi" (gunicorn's
    # sync workers, config.wsgi) is there to compare, for plain HTTP without websockets.
    interface: str = "asgi"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    static_root: str = ""
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        return {
            **os.environ,
            "DJANGO_ENV": "production",
            "DJANGO_DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CACHE_KEY_PREFIX": "odonta-bench",
            "CHANNELS_PREFIX": "odonta-bench",
            "ODONTA_FERNET_KEYS": Fernet.generate_key().decode(),
            # Fixed, so that a benchmark database's audit chain verifies from run to run.
            "ODONTA_AUDIT_KEYS": "bench:odonta-bench-audit-key-not-a-secret",
            "ODONTA_AUDIT_ANCHOR_PATH": str(
                Path(tempfile.gettempdir()) / "odonta-bench-anchors.jsonl"
            ),
            "ODONTA_SERVER_TIMING": "1",
            "STATIC_ROOT": self.static_root,
            "LOG_LEVEL": "WARNING",
            "DB_POOL": "1",
        }

    def start(self) -> None:
        self.static_root = tempfile.mkdtemp(prefix="odonta-bench-static-")
        env = self.env()
        subprocess.run(
            [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        self.log_path = Path(tempfile.mkstemp(prefix="odonta-bench-server-", suffix=".log")[1])
        log = self.log_path.open("w")
        application = (
            ["config.asgi:application", "-k", "uvicorn_worker.UvicornWorker"]
            if self.interface == "asgi"
            else ["config.wsgi:application", "-k", "sync"]
        )
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                *application,
                "-w",
                str(self.workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "10",
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped at start; see {self.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                response = httpx.get(
                    f"{self.url}/healthz?scope=web", headers=PROXY_HEADERS, timeout=2
                )
                if response.status_code == 200 and self.ready_workers() >= self.workers:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"the server did not answer in 60 s; see {self.log_path}")

    def ready_workers(self) -> int:
        return len(self.worker_processes())

    def worker_processes(self) -> list[psutil.Process]:
        if self.process is None:
            return []
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # gunicorn's master runs in a session of its own: stop exactly that group.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.static_root:
            shutil.rmtree(self.static_root, ignore_errors=True)

    @contextlib.contextmanager
    def running(self) -> Iterator["Server"]:
        try:
            self.start()
            yield self
        finally:
            self.stop()


# --- A browser-like client ------------------------------------------------------------

# The production settings send Secure cookies and redirect plain HTTP to HTTPS; behind the
# TLS proxy of a real deployment the proxy says the request was HTTPS. The client says it
# too, and keeps its cookies itself (an HTTP cookie jar would not send Secure ones back).
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
COOKIE = re.compile(r"^\s*([^=;\s]+)=([^;]*)")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TIMING = re.compile(r"(\w+);(?:dur=([\d.]+)|desc=(\w+))")


def server_timing(response: httpx.Response) -> tuple[float, int]:
    """(app milliseconds, SQL queries) from the Server-Timing header."""
    values = {
        name: dur or desc
        for name, dur, desc in TIMING.findall(response.headers.get("server-timing", ""))
    }
    return float(values.get("app", "nan")), int(values.get("queries", -1))


class Client:
    def __init__(self, base_url: str):
        self.base_url = base_url
        origin = base_url.replace("http://", "https://")
        self.http = httpx.Client(
            base_url=base_url,
            headers={**PROXY_HEADERS, "Origin": origin, "Referer": f"{origin}/"},
            timeout=60,
            follow_redirects=False,
        )
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(method, url, headers=headers, **kwargs)
        self.http.cookies.clear()
        for header in response.headers.get_list("set-cookie"):
            if match := COOKIE.match(header):
                self.cookies[match.group(1)] = match.group(2)
        return response

    def get(self, url: str, **kwargs) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, data: dict | list, **kwargs) -> httpx.Response:
        headers = {"X-CSRFToken": self.cookies.get("csrftoken", ""), **kwargs.pop("headers", {})}
        return self.request("POST", url, data=data, headers=headers, **kwargs)

    def login(self, username: str, password: str = PASSWORD) -> None:
        page = self.get("/accounts/login/")
        token = CSRF_INPUT.search(page.text)
        response = self.request(
            "POST",
            "/accounts/login/",
            data={
                "login": username,
                "password": password,
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
        )
        if response.status_code != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login as {username} failed: {response.status_code}")

    def close(self) -> None:
        self.http.close()


# --- Facts for the results ------------------------------------------------------------


def machine(database_url: str) -> dict[str, object]:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with psycopg.connect(database_url) as connection:
        version = connection.execute("SHOW server_version").fetchone()[0]
        settings = dict(
            connection.execute(
                "SELECT name, setting || COALESCE(unit, '') FROM pg_settings WHERE name IN "
                "('shared_buffers', 'work_mem', 'effective_cache_size', 'jit', "
                "'random_page_cost', 'max_connections')"
            ).fetchall()
        )
    return {
        "cpu": cpu,
        "cores": psutil.cpu_count(logical=True),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "postgresql": version,
        "postgresql_settings": settings,
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def git_commit() -> dict[str, object]:
    """The commit measured, and whether the checkout had local changes (read-only git)."""

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return result.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "short": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }
