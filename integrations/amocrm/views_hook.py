"""amoCRM's account webhooks arrive here, at a path with the connection's secret."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def hook(request: HttpRequest, secret: str) -> HttpResponse:
    return HttpResponse(status=404)
