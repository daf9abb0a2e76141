import mimetypes
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic.middleware import SESSION_KEY
from clinic.models import Chair, Employee
from clinic.modules import MODULES_BY_KEY
from clinic.permissions import (
    AuthedRequest,
    get_branch_for_user,
    login_required_view,
    module_required,
    public_view,
    visible_branches,
)


@module_required("home")
def home(request: AuthedRequest) -> HttpResponse:
    branch = request.branch
    staff = Employee.objects.for_user(request.user)
    context = {
        "branch_count": visible_branches(request.user).count(),
        "chair_count": Chair.objects.filter(branch=branch).count() if branch else 0,
        "doctor_count": staff.doctors().count(),
        "staff_count": staff.count(),
    }
    return render(request, "clinic/home.html", context)


def coming_soon_view(module_key: str):
    """The placeholder of a module whose app has not landed yet, guarded by its own right."""
    module = MODULES_BY_KEY[module_key]

    @module_required(module_key, "view")
    def coming_soon(request: AuthedRequest) -> HttpResponse:
        return render(request, "clinic/coming_soon.html", {"module": module})

    return coming_soon


@login_required_view
@require_POST
def branch_switch(request: AuthedRequest) -> HttpResponse:
    next_url = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    branch_id = request.POST.get("branch", "")
    if not branch_id.isdigit():
        messages.error(request, _("Choose a branch."))
        return redirect(next_url)
    branch = get_branch_for_user(request, int(branch_id))
    request.session[SESSION_KEY] = branch.pk
    messages.success(request, _("You are working in %(branch)s now.") % {"branch": branch})
    return redirect(next_url)


@login_required_view
def media(request: AuthedRequest, path: str) -> FileResponse:
    """Uploaded files are personal data in a clinic: only signed-in staff get them."""
    root = Path(settings.MEDIA_ROOT).resolve()
    file_path = (root / path).resolve()
    if root not in file_path.parents or not file_path.is_file():
        raise Http404
    content_type, _encoding = mimetypes.guess_type(file_path.name)
    response = FileResponse(
        file_path.open("rb"), content_type=content_type or "application/octet-stream"
    )
    response["Cache-Control"] = "private, max-age=3600"
    return response


@public_view
def healthz(request: HttpRequest) -> JsonResponse:
    status: dict[str, str] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        status["database"] = "ok"
    except Exception as exc:
        status["database"] = f"error: {exc.__class__.__name__}"
        healthy = False
    if settings.REDIS_URL:
        try:
            cache.set("healthz", "1", 5)
            status["redis"] = "ok" if cache.get("healthz") == "1" else "error: no echo"
        except Exception as exc:
            status["redis"] = f"error: {exc.__class__.__name__}"
        healthy = healthy and status["redis"] == "ok"
    else:
        status["redis"] = "not configured"
    status["status"] = "ok" if healthy else "error"
    return JsonResponse(status, status=200 if healthy else 503)
