"""Error reports (config/sentry.py): off without a DSN; with one, no patient data leaves.

The end-to-end test runs Django in a subprocess with SENTRY_DSN pointing at a fake Sentry
on loopback, makes a view fail on a request full of personal data, and reads what arrived.
"""

import gzip
import http.server
import json
import os
import subprocess
import sys
import threading

import pytest
from django.conf import settings
from django.db import connection

from config.sentry import scrub_event

PATIENT = "Секретова-Пациентка"
PHONE = "+79990001122"

# Through the ASGI handler, as in production (gunicorn with uvicorn workers).
FAILING_REQUEST = f"""
import asyncio
from urllib.parse import quote, urlencode

import django
django.setup()
import sentry_sdk
from asgiref.testing import ApplicationCommunicator
from clinic.asgi_http import get_asgi_application
from django.test import override_settings
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

@csrf_exempt
def boom(request):
    raise RuntimeError(
        "probe failure\\nDETAIL:  Key (phone)=({PHONE}) already exists."
    )

urlpatterns = [path("patients/boom/", boom)]
body = urlencode({{"last_name": "{PATIENT}", "phone": "{PHONE}"}}).encode()
scope = {{
    "type": "http", "asgi": {{"version": "3.0"}}, "http_version": "1.1", "method": "POST",
    "scheme": "http", "path": "/patients/boom/", "raw_path": b"/patients/boom/",
    "query_string": ("q=" + quote("{PATIENT}")).encode(), "root_path": "",
    "client": ("203.0.113.7", 50000), "server": ("testserver", 80),
    "headers": [
        (b"host", b"testserver"),
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", str(len(body)).encode()),
        (b"cookie", b"sessionid=secret-session-key"),
        (b"referer", ("http://testserver/patients/?q=" + quote("{PATIENT}")).encode()),
        (b"x-real-ip", b"203.0.113.7"),
        (b"user-agent", b"probe-agent"),
    ],
}}

async def request():
    communicator = ApplicationCommunicator(get_asgi_application(), scope)
    await communicator.send_input({{"type": "http.request", "body": body}})
    start = await communicator.receive_output(30)
    return start["status"]

with override_settings(ROOT_URLCONF="__main__"):
    print(asyncio.run(request()))
sentry_sdk.flush(10)
"""

PRINT_CLIENT = """
import django
django.setup()
import sentry_sdk
client = sentry_sdk.get_client()
options = client.options
print(client.is_active(), options["environment"], options["release"], options["send_default_pii"],
      options["max_request_body_size"], options["include_local_variables"])
"""


class FakeSentry(http.server.BaseHTTPRequestHandler):
    received: list[bytes]

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            import brotli

            body = brotli.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_sentry():
    received: list[bytes] = []
    handler = type("Handler", (FakeSentry,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://publickey@127.0.0.1:{server.server_address[1]}/1", received
    server.shutdown()
    server.server_close()


def run_django(script: str, **env) -> subprocess.CompletedProcess:
    database = connection.settings_dict
    base = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # The test database (it exists while the test runs); the probe reads no rows.
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "LOG_LEVEL": "CRITICAL",
    }
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db
def test_error_reports_are_off_without_a_dsn():
    result = run_django(PRINT_CLIENT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"


@pytest.mark.django_db
def test_with_a_dsn_reports_are_on_with_environment_release_and_no_personal_data(fake_sentry):
    dsn, _received = fake_sentry
    result = run_django(
        PRINT_CLIENT, SENTRY_DSN=dsn, SENTRY_ENVIRONMENT="staging", SENTRY_RELEASE="odonta@1.2.3"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "staging", "odonta@1.2.3", "False", "never", "False"]


@pytest.mark.django_db
def test_a_failing_request_reaches_sentry_without_the_patients_data(fake_sentry):
    dsn, received = fake_sentry
    result = run_django(FAILING_REQUEST, SENTRY_DSN=dsn, SENTRY_RELEASE="odonta@probe")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "500"
    envelopes = b"\n".join(received).decode("utf-8")
    events = [
        json.loads(line)
        for line in envelopes.splitlines()
        if line.startswith("{") and '"exception"' in line
    ]
    assert events, envelopes[:2000]
    event = events[0]
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert "probe failure" in event["exception"]["values"][-1]["value"]
    assert event["request"]["url"].endswith("/patients/boom/")
    assert event["release"] == "odonta@probe"
    assert event["environment"] == "development"
    for secret in (PATIENT, PHONE, "secret-session-key", "203.0.113.7"):
        assert secret not in envelopes
        assert json.dumps(secret)[1:-1] not in envelopes  # nor \\u-escaped
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert not [frame for frame in frames if "vars" in frame]


def test_scrub_event_removes_what_the_integrations_would_still_send():
    event = {
        "request": {
            "url": "https://clinic.example/patients/?q=Иванова",
            "query_string": "q=Иванова",
            "data": {"last_name": "Иванова"},
            "cookies": {"sessionid": "s"},
            "env": {"REMOTE_ADDR": "203.0.113.7"},
            "headers": {"User-Agent": "Firefox", "Referer": "/patients/?q=Иванова", "Cookie": "s"},
        },
        "user": {"id": 5, "username": "registrar"},
        "breadcrumbs": {
            "values": [
                {"category": "httplib", "data": {"url": "https://amo.example/?phone=+7999"}},
                {"category": "query", "message": "INSERT ...\nDETAIL: Key (phone)=(+7999)"},
            ]
        },
        "exception": {"values": [{"type": "IntegrityError", "value": "dup\nDETAIL: Key (x)=(1)"}]},
        "logentry": {"message": "failed %s", "params": ["Иванова"], "formatted": "failed Иванова"},
    }
    scrubbed = scrub_event(event, {})
    assert scrubbed["request"] == {
        "url": "https://clinic.example/patients/",
        "headers": {"User-Agent": "Firefox"},
    }
    assert "user" not in scrubbed
    assert [crumb.get("data") for crumb in scrubbed["breadcrumbs"]["values"]] == [None, None]
    assert scrubbed["breadcrumbs"]["values"][1]["message"] == "INSERT ...\nDETAIL: [redacted]"
    assert scrubbed["exception"]["values"][0]["value"] == "dup\nDETAIL: [redacted]"
    assert "params" not in scrubbed["logentry"]
