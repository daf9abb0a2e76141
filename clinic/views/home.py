from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic import health
from clinic.bounds import parse_id
from clinic.htmx import local_next_url
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
    next_url = local_next_url(request, request.POST.get("next"), "/")
    branch_id = parse_id(request.POST.get("branch"))
    if branch_id is None:
        messages.error(request, _("Choose a branch."))
        return redirect(next_url)
    branch = get_branch_for_user(request, branch_id)
    request.session[SESSION_KEY] = branch.pk
    messages.success(request, _("You are working in %(branch)s now.") % {"branch": branch})
    return redirect(next_url)


@public_view
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico where a page (an HTMX fragment opened alone) names none."""
    return redirect(static("img/favicon.svg"))  # not permanent: the name carries a hash


@public_view
def healthz(request: HttpRequest) -> JsonResponse:
    """Health for monitoring; ``?scope=web`` for load balancers (see ``clinic.health``)."""
    body, healthy = health.report(web_only=request.GET.get("scope") == "web")
    return JsonResponse(body, status=200 if healthy else 503)
