from celery import shared_task

from integrations import webhooks


@shared_task(acks_late=True, ignore_result=True)
def webhook_process(webhook_id: int) -> None:
    webhooks.process(webhook_id)


@shared_task(ignore_result=True)
def webhooks_sweep(limit: int = 500) -> int:
    webhook_ids = webhooks.pending_for_sweep(limit=limit)
    for webhook_id in webhook_ids:
        webhooks.process(webhook_id)
    return len(webhook_ids)


from integrations.amocrm import tasks as amocrm_tasks  # noqa: E402, F401 (Celery finds them here)
