"""Domain events with a transactional outbox.

    publish("patient.updated", patient, {"changed": ["phone"]}, actor=user)

writes an ``OutboxEvent`` in the caller's transaction. Once it commits, a Celery task
delivers it to every handler subscribed to the name; if the queue is down, the periodic
``outbox_sweep`` picks it up later. An event whose transaction rolls back never existed.

Handlers are registered in an ``AppConfig.ready()``:

    @subscriber("patient.*", "appointment.created")
    def add_to_timeline(event: OutboxEvent) -> None: ...

Each handler runs in its own savepoint; a failing one is retried (with backoff) without
repeating the ones that succeeded, so handlers see each event once, at least once. Do
external I/O in a task the handler enqueues, not in the handler itself.

After ``settings.ODONTA_OUTBOX_MAX_ATTEMPTS`` failed attempts an event is *failed*: the sweep
stops retrying it, the error is logged (and reported to Sentry when configured), and it waits
in Settings -> Failed events until someone retries it (``outbox_retry``).
"""

import datetime
import fnmatch
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from clinic import audit
from clinic.audit import json_value
from clinic.courier import courier
from clinic.models import AuditAction, OutboxEvent

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]


@dataclass(frozen=True)
class Subscription:
    pattern: str
    name: str
    handler: Handler


_subscriptions: list[Subscription] = []


def subscriber(*patterns: str) -> Callable[[Handler], Handler]:
    """Subscribe a handler to event names; ``*`` matches any part (``patient.*``)."""

    def register(handler: Handler) -> Handler:
        name = f"{handler.__module__}.{handler.__qualname__}"
        for pattern in patterns:
            subscription = Subscription(pattern, name, handler)
            if subscription not in _subscriptions:
                _subscriptions.append(subscription)
        return handler

    return register


def unsubscribe(handler: Handler) -> None:
    _subscriptions[:] = [s for s in _subscriptions if s.handler is not handler]


def handlers_for(event_name: str) -> list[tuple[str, Handler]]:
    seen: dict[str, Handler] = {}
    for subscription in _subscriptions:
        if fnmatch.fnmatchcase(event_name, subscription.pattern):
            seen.setdefault(subscription.name, subscription.handler)
    return list(seen.items())


def publish(
    name: str,
    obj: models.Model | None = None,
    payload: dict[str, Any] | None = None,
    *,
    actor=None,
) -> OutboxEvent:
    event = outbox_event(name, obj, payload, actor=actor)
    event.save()
    published(event)
    return event


def outbox_event(
    name: str,
    obj: models.Model | None = None,
    payload: dict[str, Any] | None = None,
    *,
    actor=None,
) -> OutboxEvent:
    """The event ``publish`` writes, not saved yet: for a caller that inserts it with its
    other writes (``clinic.db.Insert``) and then calls ``published``."""
    return OutboxEvent(
        name=name,
        aggregate_type=obj._meta.label_lower if obj is not None else "",
        aggregate_id=str(obj.pk) if obj is not None else "",
        payload=json_value(payload or {}),
        actor=actor if actor is not None and actor.is_authenticated else None,
    )


def published(event: OutboxEvent) -> None:
    """Once the saved event's transaction commits, its delivery is queued."""
    assert event.pk is not None, "an event is published once it is saved"
    transaction.on_commit(lambda: courier.deliver(lambda: _enqueue(event.pk)))


def publish_many(
    name: str, items: list[tuple[models.Model, dict[str, Any]]], *, actor=None
) -> list[int]:
    """Publish one event per (object, payload) with a bulk insert (imports, batch jobs)."""
    actor = actor if actor is not None and actor.is_authenticated else None
    rows = OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(
                name=name,
                aggregate_type=obj._meta.label_lower,
                aggregate_id=str(obj.pk),
                payload=json_value(payload),
                actor=actor,
            )
            for obj, payload in items
        ]
    )
    event_ids = [row.pk for row in rows]
    transaction.on_commit(lambda: courier.deliver(lambda: _enqueue_many(event_ids)))
    return event_ids


def _enqueue_many(event_ids: list[int]) -> None:
    from clinic.tasks import outbox_dispatch_many

    try:
        outbox_dispatch_many.delay(event_ids)
    except Exception:
        logger.warning("Could not enqueue %s outbox events; the sweep will retry", len(event_ids))


def _enqueue(event_id: int) -> None:
    from clinic.tasks import outbox_dispatch

    try:
        outbox_dispatch.delay(event_id)
    except Exception:  # the broker is down: the sweep will deliver it
        logger.warning("Could not enqueue outbox event %s; the sweep will retry", event_id)


def retry_delay(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def dispatch(event_id: int) -> bool:
    """Deliver one event to its handlers. True if it is fully delivered now."""
    with transaction.atomic():
        event = (
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, dispatched_at__isnull=True, failed_at__isnull=True)
            .first()
        )
        if event is None:
            return False
        delivered = set(event.delivered_to)
        errors = []
        for name, handler in handlers_for(event.name):
            if name in delivered:
                continue
            try:
                with transaction.atomic():
                    handler(event)
            except Exception as exc:
                logger.exception("Handler %s failed on %s", name, event)
                errors.append(f"{name}: {exc!r}")
            else:
                delivered.add(name)
        now = timezone.now()
        event.delivered_to = sorted(delivered)
        event.attempts += 1
        if errors:
            event.last_error = "\n".join(errors)[:5000]
            if event.attempts >= settings.ODONTA_OUTBOX_MAX_ATTEMPTS:
                event.failed_at = now
                event.next_attempt_at = None
                logger.error(
                    "Outbox event %s gave up after %s attempts: %s",
                    event,
                    event.attempts,
                    event.last_error,
                )
            else:
                event.next_attempt_at = now + retry_delay(event.attempts)
        else:
            event.dispatched_at = now
            event.last_error = ""
        event.save(
            update_fields=[
                "delivered_to",
                "attempts",
                "last_error",
                "next_attempt_at",
                "dispatched_at",
                "failed_at",
            ]
        )
        return not errors


def pending_for_sweep(*, older_than: datetime.timedelta, limit: int) -> list[int]:
    now = timezone.now()
    return list(
        OutboxEvent.objects.filter(
            dispatched_at__isnull=True, failed_at__isnull=True, created_at__lte=now - older_than
        )
        .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def failed_events() -> models.QuerySet[OutboxEvent]:
    """Events whose attempts ran out, the latest failure first (Settings -> Failed events)."""
    return (
        OutboxEvent.objects.filter(failed_at__isnull=False)
        .select_related("actor__employee")
        .order_by("-failed_at", "-id")
    )


@transaction.atomic
def outbox_retry(*, event_ids: list[int], by) -> list[int]:
    """Give failed events a new round of attempts, delivered after commit; returns their ids.

    Events that are not failed (delivered, still being retried, or retried meanwhile by
    someone else) are left as they are.
    """
    retried = list(
        OutboxEvent.objects.select_for_update(no_key=True)
        .filter(pk__in=event_ids, failed_at__isnull=False)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not retried:
        return []
    OutboxEvent.objects.filter(pk__in=retried).update(
        failed_at=None, attempts=0, next_attempt_at=None
    )
    audit.record(
        actor=by,
        action=AuditAction.UPDATE,
        object_repr=f"outbox retry: {len(retried)} failed events",
        changes={"retried_events": [None, retried]},
    )
    transaction.on_commit(lambda: _enqueue_many(retried))
    return retried
