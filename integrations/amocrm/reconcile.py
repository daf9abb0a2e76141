"""The reconcile: every few minutes, read what changed in amoCRM since the last run and
apply it as if its webhooks had come. A lost webhook is repaired within one period.

It reads from a minute before the last run's start (a change saved while the last run read
is not missed) and applies idempotently, so reading something twice changes nothing.
"""

from integrations.amocrm import inbound
from integrations.amocrm.client import AmoClient
from integrations.amocrm.sync import now_seconds, settings_update
from integrations.models import Connection

OVERLAP = 60  # seconds read again before the last run's start


def reconcile(connection: Connection, client: AmoClient) -> dict[str, int]:
    started = now_seconds()
    last = (connection.settings or {}).get("last_reconcile_at")
    since = int(last) - OVERLAP if isinstance(last, int) else started - 24 * 3600
    contacts = list(client.contacts(updated_from=since))
    inbound.apply_contacts(connection, client, contacts)
    leads = list(client.leads(updated_from=since, pipeline_id=client.settings.pipeline_id))
    inbound.apply_leads(connection, client, leads)
    settings_update(connection, last_reconcile_at=started)
    return {"contacts": len(contacts), "leads": len(leads)}
