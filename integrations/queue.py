"""The push queue of outbound syncs (see ``SyncQueueItem``): queue, claim, finish, back off."""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import SyncQueueItem

LEASE = datetime.timedelta(minutes=5)  # a claimed row is retried after this if its worker died


@dataclass(frozen=True)
class Claimed:
    entity_type: str
    object_id: int
    queued_at: datetime.datetime


def queue(system: str, entity_type: str, object_ids: list[int]) -> None:
    """Mark objects as changed; call inside the change's transaction."""
    if not object_ids:
        return
    now = timezone.now()
    SyncQueueItem.objects.bulk_create(
        [
            SyncQueueItem(system=system, entity_type=entity_type, object_id=pk, queued_at=now)
            for pk in sorted(set(object_ids))
        ],
        update_conflicts=True,
        unique_fields=["system", "entity_type", "object_id"],
        update_fields=["queued_at"],  # a row being pushed keeps its lease (no twin push)
    )


def due(system: str) -> Q:
    return Q(system=system) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())
    )


def claim(system: str, entity_type: str, *, limit: int) -> list[Claimed]:
    """Up to ``limit`` due rows of one entity, oldest first, leased to the caller."""
    with transaction.atomic():
        rows = list(
            SyncQueueItem.objects.select_for_update(skip_locked=True)
            .filter(due(system), entity_type=entity_type)
            .order_by("queued_at", "id")
            .values_list("id", "object_id", "queued_at")[:limit]
        )
        if rows:
            SyncQueueItem.objects.filter(pk__in=[row[0] for row in rows]).update(
                next_attempt_at=timezone.now() + LEASE
            )
    return [Claimed(entity_type, object_id, queued_at) for _id, object_id, queued_at in rows]


def finish(system: str, items: list[Claimed]) -> None:
    """Done: the rows go, except those queued again while they were being pushed."""
    for item in items:
        SyncQueueItem.objects.filter(
            system=system,
            entity_type=item.entity_type,
            object_id=item.object_id,
            queued_at=item.queued_at,
        ).delete()
    # A row queued again during the push keeps its lease: make it due now.
    SyncQueueItem.objects.filter(
        system=system,
        entity_type__in={item.entity_type for item in items},
        object_id__in=[item.object_id for item in items],
    ).update(next_attempt_at=None)


def fail(system: str, items: list[Claimed], error: str) -> None:
    """Try these again later, backing off (30 s, 1 min, 2 min... at most an hour)."""
    now = timezone.now()
    for item in items:
        row = SyncQueueItem.objects.filter(
            system=system, entity_type=item.entity_type, object_id=item.object_id
        ).first()
        if row is None:
            continue
        row.attempts += 1
        row.last_error = error[:2000]
        delay = min(30 * 2 ** (row.attempts - 1), 3600)
        row.next_attempt_at = now + datetime.timedelta(seconds=delay)
        row.save(update_fields=["attempts", "last_error", "next_attempt_at"])


def release(system: str, items: list[Claimed]) -> None:
    """Give claimed rows back untouched (the connection paused; no attempt was made)."""
    SyncQueueItem.objects.filter(
        system=system,
        entity_type__in={item.entity_type for item in items},
        object_id__in=[item.object_id for item in items],
    ).update(next_attempt_at=None)


def pending_count(system: str) -> int:
    return SyncQueueItem.objects.filter(system=system).count()
