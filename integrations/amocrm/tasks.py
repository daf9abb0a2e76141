from celery import shared_task

from integrations.amocrm import push, reconcile
from integrations.amocrm.sync import active_connection, client_for, stop_if_refused
from integrations.http import IntegrationError


@shared_task(ignore_result=True)
def amocrm_push() -> int:
    """Push the queued patients and visits (after each change, and every minute)."""
    return push.push_pending()


@shared_task(ignore_result=True)
def amocrm_reconcile() -> dict[str, int] | None:
    """Every ``AMOCRM_RECONCILE_SECONDS``: apply what webhooks may have missed."""
    connection = active_connection()
    if connection is None:
        return None
    client = client_for(connection)
    try:
        return reconcile.reconcile(connection, client)
    except IntegrationError as error:
        if not stop_if_refused(connection, error):
            raise
        return None
    finally:
        client.close()


@shared_task(ignore_result=True)
def amocrm_sync_now() -> None:
    """A person's "Sync now": the webhooks that wait, the queue, and the reconcile."""
    from integrations import webhooks
    from integrations.amocrm.config import SYSTEM
    from integrations.models import InboundWebhook

    for webhook_id in (
        InboundWebhook.objects.filter(system=SYSTEM)
        .exclude(status="processed")
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    ):
        webhooks.process(webhook_id)
    push.push_pending()
    amocrm_reconcile()


@shared_task(acks_late=True, ignore_result=True)
def amocrm_initial_run(job_id: int) -> None:
    from integrations.amocrm import initial

    initial.run(job_id)


@shared_task(ignore_result=True)
def amocrm_jobs_sweep() -> int:
    """Every minute: a running initial sync (or app accounts run) whose worker died goes on
    where it stopped."""
    from integrations.amocrm import app_accounts, initial

    return initial.resume_stalled() + app_accounts.resume_stalled()


@shared_task(acks_late=True, ignore_result=True)
def amocrm_app_accounts_run(job_id: int) -> None:
    from integrations.amocrm import app_accounts

    app_accounts.job_run(job_id)


@shared_task(ignore_result=True)
def amocrm_app_accounts_daily() -> dict | None:
    """Every 15 minutes: the app accounts' daily sync, once a day after its time of day."""
    from integrations.amocrm import app_accounts

    connection = active_connection()
    if connection is None:
        return None
    try:
        result = app_accounts.daily_run(connection)
    except IntegrationError:
        return None  # logged and the connection's status set; the next beat tries again
    return result.counts() if result is not None else None
