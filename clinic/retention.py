"""Retention: rows that only operations need are purged once their period is over.

Each kind of row registers a rule (in its app's ``registrations``); one nightly Celery beat
entry (``retention-purge`` -> ``clinic.tasks.retention_purge``) runs them all. A rule's period
is a setting, ``settings.ODONTA_RETENTION_DAYS[key]`` (read from ``ODONTA_RETAIN_<KEY>_DAYS``):

    retention.register(RetentionRule(
        key="processed_webhooks",
        purge=lambda cutoff: retention.delete_in_batches(
            InboundWebhook.objects.filter(status="processed", processed_at__lt=cutoff)
        ),
    ))

``purge(cutoff)`` deletes what finished before ``cutoff`` and returns how many rows went; a
kind with files deletes them in its own ``purge``. Business records are never purged here:
they are soft-deleted and kept (the recycle bin), and the audit log is append-only.
"""

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils import timezone

logger = logging.getLogger(__name__)

# Rows deleted per statement: short transactions, no long locks on a busy table.
BATCH_SIZE = 5000


@dataclass(frozen=True)
class RetentionRule:
    key: str
    purge: Callable[[datetime.datetime], int]


_rules: dict[str, RetentionRule] = {}


def register(rule: RetentionRule) -> None:
    _rules[rule.key] = rule


def rules() -> list[RetentionRule]:
    return list(_rules.values())


def period(key: str) -> datetime.timedelta:
    days = settings.ODONTA_RETENTION_DAYS.get(key)
    if days is None or days < 0:
        raise ImproperlyConfigured(
            f"settings.ODONTA_RETENTION_DAYS[{key!r}] must be a number of days (0 or more)."
        )
    return datetime.timedelta(days=days)


def delete_in_batches(queryset: models.QuerySet, *, batch_size: int | None = None) -> int:
    """Delete the rows of ``queryset`` a batch at a time; returns how many went."""
    size = batch_size or BATCH_SIZE
    manager = queryset.model._base_manager
    total = 0
    while True:
        ids = list(queryset.order_by().values_list("pk", flat=True)[:size])
        if ids:
            manager.filter(pk__in=ids).delete()
            total += len(ids)
        if len(ids) < size:
            return total


def purge_all(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Run every rule; a failing rule is logged and the others still run."""
    now = now or timezone.now()
    purged: dict[str, int] = {}
    for rule in rules():
        try:
            purged[rule.key] = rule.purge(now - period(rule.key))
        except Exception:
            logger.exception("Retention rule %s failed", rule.key)
    if any(purged.values()):
        logger.info("Retention purge: %s", purged)
    return purged


# --- The core's rules (registered in clinic.registrations) --------------------------------


def purge_dispatched_events(cutoff: datetime.datetime) -> int:
    from clinic.models import OutboxEvent

    return delete_in_batches(OutboxEvent.objects.filter(dispatched_at__lt=cutoff))


def purge_expired_sessions(cutoff: datetime.datetime) -> int:
    """Sessions that expired before ``cutoff`` (what ``clearsessions`` does, with a delay)."""
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):  # sessions outside the database expire there
        return 0
    return delete_in_batches(store.get_model_class().objects.filter(expire_date__lt=cutoff))
