import datetime

from celery import shared_task

from clinic import audit, events, health, retention


@shared_task(acks_late=True, ignore_result=True)
def outbox_dispatch(event_id: int) -> None:
    events.dispatch(event_id)


@shared_task(acks_late=True, ignore_result=True)
def outbox_dispatch_many(event_ids: list[int]) -> None:
    for event_id in event_ids:
        events.dispatch(event_id)


@shared_task(ignore_result=True)
def outbox_sweep(limit: int = 1000) -> int:
    """Deliver events that their on-commit task never delivered (queue outage, crash)."""
    event_ids = events.pending_for_sweep(older_than=datetime.timedelta(seconds=30), limit=limit)
    for event_id in event_ids:
        events.dispatch(event_id)
    return len(event_ids)


@shared_task(ignore_result=True)
def retention_purge() -> dict[str, int]:
    """Nightly: delete what the retention periods let go (``clinic.retention``)."""
    return retention.purge_all()


@shared_task(ignore_result=True)
def worker_heartbeat() -> None:
    """Every minute from beat: /healthz reads its age to know the workers run."""
    health.record_worker_heartbeat()


@shared_task(ignore_result=True)
def audit_anchor() -> None:
    """Record the audit chain's head outside the database (celery beat, every few minutes)."""
    audit.anchor_head()
