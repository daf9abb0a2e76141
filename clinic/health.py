"""What ``/healthz`` checks, and the Celery workers' heartbeat it reads.

Unhealthy (HTTP 503) means something needs a person:

- the database or Redis does not answer (the web cannot serve);
- the workers have not beaten for ``ODONTA_HEALTH_WORKER_MAX_AGE`` seconds: the heartbeat is
  a periodic task (``clinic.tasks.worker_heartbeat``), so it proves that beat, the broker and
  at least one worker all run; skipped when tasks run in the web process (no broker);
- the oldest pending domain event waits longer than ``ODONTA_HEALTH_OUTBOX_MAX_AGE`` seconds:
  events are not being delivered (no worker, or a handler failing again and again).

Failed events (given up, waiting for a retry in Settings) are counted, not judged: they
already have their screen. ``?scope=web`` checks only the database and Redis, for a load
balancer, which must not take every web server out because a worker stopped.
"""

import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, models
from django.utils import timezone

from clinic.models import OutboxEvent

HEARTBEAT_KEY = "celery-worker-heartbeat"


def record_worker_heartbeat() -> None:
    cache.set(HEARTBEAT_KEY, timezone.now().timestamp(), timeout=24 * 3600)


def pending_events() -> models.QuerySet[OutboxEvent]:
    """Not delivered and not given up, oldest first (the partial index ``outbox_pending_idx``)."""
    return OutboxEvent.objects.filter(dispatched_at__isnull=True, failed_at__isnull=True).order_by(
        "id"
    )


def _seconds_since(moment: datetime.datetime | float | None) -> int | None:
    if moment is None:
        return None
    if isinstance(moment, datetime.datetime):
        moment = moment.timestamp()
    return max(round(timezone.now().timestamp() - moment), 0)


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _redis() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    try:
        cache.set("healthz", "1", 5)
        return "ok" if cache.get("healthz") == "1" else "error: no echo"
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"


def _workers() -> dict[str, Any]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"workers": "not configured", "worker_heartbeat_age": None}
    try:
        age = _seconds_since(cache.get(HEARTBEAT_KEY))
    except Exception as exc:
        return {"workers": f"error: {exc.__class__.__name__}", "worker_heartbeat_age": None}
    if age is None:
        status = "error: no heartbeat"
    elif age > settings.ODONTA_HEALTH_WORKER_MAX_AGE:
        status = f"error: last heartbeat {age} s ago"
    else:
        status = "ok"
    return {"workers": status, "worker_heartbeat_age": age}


def _outbox() -> dict[str, Any]:
    age = _seconds_since(pending_events().values_list("created_at", flat=True).first())
    if age is not None and age > settings.ODONTA_HEALTH_OUTBOX_MAX_AGE:
        status = f"error: the oldest pending event waits {age} s"
    else:
        status = "ok"
    return {
        "outbox": status,
        "outbox_oldest_pending_age": age,
        "outbox_failed": OutboxEvent.objects.filter(failed_at__isnull=False).count(),
    }


def report(*, web_only: bool = False) -> tuple[dict[str, Any], bool]:
    """The checks as JSON-ready values, and whether all of them pass."""
    body: dict[str, Any] = {"database": _database(), "redis": _redis()}
    if not web_only:
        body.update(_workers())
        if body["database"] == "ok":
            body.update(_outbox())
    healthy = not any(str(value).startswith("error") for value in body.values())
    body["status"] = "ok" if healthy else "error"
    return body, healthy
