"""Error reports to a Sentry-compatible service, only when ``SENTRY_DSN`` is set.

Patient data must not leave the clinic. Besides ``send_default_pii=False`` (no user, no IP
address, no cookies), request bodies and the local variables of stack frames are never
collected, and ``scrub_event`` removes what would still travel: the query string (a search
for a patient's name), headers beyond a harmless few, the user, breadcrumb data (URLs of
outbound calls) and the ``DETAIL:`` lines PostgreSQL adds to errors (they quote row values).
What is sent: the exception type and message, the stack (file, line, function, source), the
URL path, the environment and the release. So: never put personal data in an exception or
log message.
"""

import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

KEPT_HEADERS = frozenset({"accept", "content-length", "content-type", "host", "user-agent"})
POSTGRES_DETAIL = re.compile(r"^DETAIL:.*$", re.MULTILINE)


def init(*, dsn: str, environment: str, release: str | None) -> None:
    sentry_sdk.init(**options(dsn=dsn, environment=environment, release=release))


def options(*, dsn: str, environment: str, release: str | None) -> dict[str, Any]:
    return {
        "dsn": dsn,
        "environment": environment,
        "release": release,  # None: the SDK's default (SENTRY_RELEASE, else the git commit)
        "send_default_pii": False,
        "max_request_body_size": "never",
        "include_local_variables": False,
        "before_send": scrub_event,
        "integrations": [DjangoIntegration(), CeleryIntegration()],
    }


def _redact(text: Any) -> Any:
    return POSTGRES_DETAIL.sub("DETAIL: [redacted]", text) if isinstance(text, str) else text


def scrub_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "query_string", "cookies", "env"):
            request.pop(key, None)
        headers = request.get("headers") or {}
        request["headers"] = {
            name: value for name, value in headers.items() if name.lower() in KEPT_HEADERS
        }
        if isinstance(request.get("url"), str):
            request["url"] = request["url"].split("?", 1)[0]
    event.pop("user", None)
    for crumb in (event.get("breadcrumbs") or {}).get("values", []):
        crumb.pop("data", None)
        crumb["message"] = _redact(crumb.get("message"))
    for exception in (event.get("exception") or {}).get("values", []):
        exception["value"] = _redact(exception.get("value"))
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        logentry["message"] = _redact(logentry.get("message"))
        logentry["formatted"] = _redact(logentry.get("formatted"))
        logentry.pop("params", None)
    return event
