"""What the integrations app registers with the core (loaded by ``IntegrationsConfig.ready``)."""

import datetime

from clinic import retention
from integrations.models import InboundWebhook, SyncLogEntry, SyncResult, WebhookStatus


def purge_processed_webhooks(cutoff: datetime.datetime) -> int:
    """Processed webhooks past their period. A provider that redelivers one after this
    would be processed again (its dedupe key is gone): keep the period well past any
    provider's redelivery window."""
    return retention.delete_in_batches(
        InboundWebhook.objects.filter(status=WebhookStatus.PROCESSED, processed_at__lt=cutoff)
    )


retention.register(retention.RetentionRule("processed_webhooks", purge=purge_processed_webhooks))


def purge_ok_sync_log(cutoff: datetime.datetime) -> int:
    """Successful sync log lines past their period; failed and skipped ones stay for people."""
    return retention.delete_in_batches(
        SyncLogEntry.objects.filter(result=SyncResult.OK, created_at__lt=cutoff)
    )


retention.register(retention.RetentionRule("sync_log_ok", purge=purge_ok_sync_log))

from integrations.amocrm import registrations as amocrm_registrations  # noqa: E402, F401
