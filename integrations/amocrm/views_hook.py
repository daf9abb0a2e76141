"""amoCRM's account webhooks arrive here, at a path with the connection's secret.

amoCRM signs nothing, so the path's secret (compared in constant time) and the account id
in the body are the check. The request is stored and answered at once (amoCRM wants an
answer within 2 s); a task applies it, once, however often it is delivered.
"""

import hmac
from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clinic.permissions import public_view
from integrations import webhooks
from integrations.amocrm.config import AmoSettings
from integrations.amocrm.sync import connection_get


@public_view
@csrf_exempt
@require_POST
def hook(request: HttpRequest, secret: str) -> HttpResponse:
    connection = connection_get()
    expected = AmoSettings.of(connection).webhook_secret if connection else ""
    if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
        return HttpResponse(status=404)
    if request.content_type != "application/x-www-form-urlencoded":
        return HttpResponse("Form-encoded webhooks only.", status=415, content_type="text/plain")
    fields = dict(parse_qsl(request.body.decode("utf-8", "replace"), max_num_fields=100_000))
    account = AmoSettings.of(connection).account_id
    if account and fields.get("account[id]") != str(account):
        return HttpResponse("Another account.", status=403, content_type="text/plain")
    provider = webhooks.get_provider("amocrm")
    if provider is None:  # pragma: no cover - registered when the app loads
        return HttpResponse(status=503)
    webhooks.webhook_receive(provider=provider, request=request)
    return HttpResponse("OK", content_type="text/plain")
