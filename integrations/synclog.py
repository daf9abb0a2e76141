"""The sync log: writing its lines, and retrying failed ones through per-provider handlers.

A sync writes one line per operation:

    synclog.log(direction="out", system="amocrm", connection=conn, entity_type="patient",
                entity_id=patient.pk, action="contact.update", result="ok",
                changes={"phone": ["+7...", "+7..."]}, request_id=...)

and registers how a failed line of one of its actions is retried (the handler enqueues the
work again, usually a Celery task with ``transaction.on_commit``; it must not call out
itself, the request is a person's click):

    synclog.register_retry("amocrm", "contact.update", lambda entry: ...)

Settings -> Integrations -> Sync log lists the lines (``integrations.views.sync_log``); its
Retry button calls ``entry_retry``. Secrets in ``changes`` and ``error`` are masked on write.
"""

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from clinic import audit
from integrations.http import mask_data, mask_text
from integrations.models import Connection, SyncDirection, SyncLogEntry, SyncResult

RetryHandler = Callable[[SyncLogEntry], None]

_retry_handlers: dict[tuple[str, str], RetryHandler] = {}


def register_retry(system: str, action: str, handler: RetryHandler) -> None:
    _retry_handlers[(system, action)] = handler


def unregister_retry(system: str, action: str) -> None:
    _retry_handlers.pop((system, action), None)


def retry_handler(system: str, action: str) -> RetryHandler | None:
    return _retry_handlers.get((system, action))


def log(
    *,
    direction: str,
    system: str,
    action: str,
    result: str,
    connection: Connection | None = None,
    entity_type: str = "",
    entity_id: Any = "",
    changes: dict[str, Any] | None = None,
    error: str = "",
    request_id: str = "",
) -> SyncLogEntry:
    line = entry(
        direction=direction,
        system=system,
        action=action,
        result=result,
        connection=connection,
        entity_type=entity_type,
        entity_id=entity_id,
        changes=changes,
        error=error,
        request_id=request_id,
    )
    line.save()
    return line


def log_many(lines: list[SyncLogEntry]) -> list[SyncLogEntry]:
    """Write lines made with ``entry`` in one statement (a batch of a sync)."""
    return SyncLogEntry.objects.bulk_create(lines) if lines else []


def entry(
    *,
    direction: str,
    system: str,
    action: str,
    result: str,
    connection: Connection | None = None,
    entity_type: str = "",
    entity_id: Any = "",
    changes: dict[str, Any] | None = None,
    error: str = "",
    request_id: str = "",
) -> SyncLogEntry:
    """A log line, masked and cut to size, not yet saved (``log`` saves one, ``log_many``
    several at once)."""
    return SyncLogEntry(
        direction=SyncDirection(direction),
        system=system[:40],
        connection=connection,
        entity_type=entity_type[:40],
        entity_id=str(entity_id)[:64],
        action=action[:60],
        changes=mask_data(changes or {}),
        result=SyncResult(result),
        error=mask_text(error)[:5000],
        request_id=request_id[:100],
    )


def entries() -> QuerySet[SyncLogEntry]:
    """The log, newest first, with what a list line shows."""
    return SyncLogEntry.objects.select_related("connection").order_by("-created_at", "-id")


class NothingToRetry(Exception):
    """The entry did not fail, or no handler is registered for its system and action."""


@transaction.atomic
def entry_retry(*, entry: SyncLogEntry, by) -> SyncLogEntry:
    """Hand a failed entry to its provider's retry handler; raises ``NothingToRetry``."""
    current = SyncLogEntry.objects.select_for_update().get(pk=entry.pk)
    if current.result != SyncResult.FAILED:
        raise NothingToRetry("not failed")
    handler = retry_handler(current.system, current.action)
    if handler is None:
        raise NothingToRetry("no handler")
    handler(current)
    current.retried_at = timezone.now()
    current.save(update_fields=["retried_at"])
    audit.record(
        actor=by,
        action="update",
        obj=current,
        changes={"retried_at": [None, current.retried_at.isoformat()]},
    )
    return current
