"""What the amoCRM sync registers when the app loads: its webhook provider, its event
handlers and the retry of its failed sync log lines."""

from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from integrations import queue, synclog, webhooks
from integrations.amocrm import handlers
from integrations.amocrm.config import SYSTEM
from integrations.models import InboundWebhook, SyncLogEntry
from patients import page_actions


def _process(webhook: InboundWebhook) -> None:
    from integrations.amocrm import inbound
    from integrations.amocrm.sync import active_connection, client_for, stop_if_refused
    from integrations.http import IntegrationError

    connection = active_connection()
    if connection is None:
        raise RuntimeError("The amoCRM connection is not active; the webhook waits.")
    client = client_for(connection)
    try:
        inbound.process_webhook(connection, client, webhook.body)
    except IntegrationError as error:
        stop_if_refused(connection, error)
        raise
    finally:
        client.close()


def _event_type(request: HttpRequest, body: bytes) -> str:
    groups = sorted(
        {
            key.split("]", 1)[0] + "]"
            for key in request.POST
            if key.startswith(("leads[", "contacts["))
        }
    )
    return " ".join(groups)


webhooks.register(
    webhooks.WebhookProvider(
        system=SYSTEM,
        verify=lambda request, body: True,  # the view checks the path's secret and the account
        process=_process,
        event_type=_event_type,
    )
)


def _retry_push(entity_type: str):
    def retry(entry: SyncLogEntry) -> None:
        if entry.entity_id.isdigit():
            queue.queue(SYSTEM, entity_type, [int(entry.entity_id)])
            handlers._start_push()

    return retry


for _action in ("contact.create", "contact.update", "contact.match"):
    synclog.register_retry(SYSTEM, _action, _retry_push("patient"))
for _action in ("lead.create", "lead.update"):
    synclog.register_retry(SYSTEM, _action, _retry_push("visit"))


def _retry_close_lost(entry: SyncLogEntry) -> None:
    from integrations.amocrm.panel import retry_close_lost

    retry_close_lost(entry)


synclog.register_retry(SYSTEM, "lead.close_lost", _retry_close_lost)


def _app_accounts_on() -> bool:
    from integrations.amocrm.views_app_accounts import feature_on

    return feature_on()


# The patient-app accounts to amoCRM, from the card and from the list (SYNC_RIGHT there).
page_actions.register(
    page_actions.PatientAction(
        key="amocrm-app-account",
        label=gettext_lazy("Update app account in CRM"),
        icon="cloud-arrow-up",  # not the phone of the card's own account actions
        url_name="integrations:amocrm-app-account-update",
        right=("settings", "change"),
        confirm=gettext_lazy("Write this patient's app account to amoCRM now?"),
        enabled=_app_accounts_on,
    )
)
page_actions.register(
    page_actions.PatientAction(
        key="amocrm-app-accounts",
        label=gettext_lazy("Sync app accounts"),
        icon="arrow-repeat",
        url_name="integrations:amocrm-app-accounts-sync",
        right=("settings", "change"),
        place=page_actions.LIST,
        enabled=_app_accounts_on,
    )
)
