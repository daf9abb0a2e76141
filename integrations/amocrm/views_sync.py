"""Settings -> Integrations -> amoCRM -> "Sync now" / "Resume": push what waits, apply the
webhooks that wait, and read what changed in amoCRM, in the background. A paused
connection (amoCRM refused access) is first asked again, and resumes if it answers."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic import jobs
from clinic.permissions import AuthedRequest, module_required
from integrations import services
from integrations.amocrm.config import AmoSettings
from integrations.amocrm.sync import client_for, connection_get
from integrations.http import IntegrationError
from integrations.models import ConnectionStatus


@require_POST
@module_required("settings", "change")
def sync_now(request: AuthedRequest) -> HttpResponse:
    from integrations.amocrm.tasks import amocrm_sync_now

    connection = connection_get()
    if connection is None or not connection.has_credentials:
        messages.error(request, _("Connect amoCRM first."))
        return redirect("integrations:amocrm-integration")
    if connection.status == ConnectionStatus.PAUSED:
        try:
            with client_for(connection) as client:
                client.account()
        except IntegrationError:
            messages.error(request, _("amoCRM still refuses access; the sync stays paused."))
            return redirect("integrations:amocrm-integration")
        services.connection_status_set(
            connection=connection, status=ConnectionStatus.CONNECTED, by=request.user
        )
    if connection.status != ConnectionStatus.CONNECTED or not AmoSettings.of(connection).setup_done:
        messages.error(request, _("Finish the setup first."))
        return redirect("integrations:amocrm-integration")
    jobs.enqueue(amocrm_sync_now)
    messages.success(request, _("The sync runs now: changes on both sides are brought together."))
    return redirect("integrations:amocrm-integration")
