import logging

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clinic.permissions import public_view
from integrations import webhooks

logger = logging.getLogger(__name__)


@public_view
@csrf_exempt
@require_POST
def webhook(request: HttpRequest, system: str) -> JsonResponse:
    """Public by necessity: the provider's signature, checked here, is the authentication."""
    provider = webhooks.get_provider(system)
    if provider is None:
        raise Http404
    if not provider.verify(request, request.body):
        logger.warning("Rejected a %s webhook with a bad signature", system)
        return JsonResponse({"ok": False, "error": "signature"}, status=403)
    row, created = webhooks.webhook_receive(provider=provider, request=request)
    return JsonResponse({"ok": True, "id": row.pk, "duplicate": not created})
