"""The deal card widget's endpoints (see ``widget`` for the package and the tokens).

- ``widget_download``: the package to upload to amoCRM (integration-settings right).
- ``widget_secret``: the integration's secret key, for a connection by long-lived token.
- ``widget_session``: called by ``script.js`` from amoCRM's page (CORS: the connected
  account's origin only) with amoCRM's one-time ``X-Auth-Token``; answers the panel's URL.
- ``panel_*``: the panel in the deal card's iframe. No cookies reach a third-party iframe,
  so the signed token in the path is the session: one deal, one employee's user, 30 minutes.
  The user's rights and branches apply as anywhere in Odonta; the deal comes from the
  token, never from the request.
"""

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calendar_app import services as calendar
from calendar_app.models import Appointment, StatusCode, WorkShift
from calendar_app.selectors import status_styles
from calendar_app.slots import find_slots
from clinic.models import Employee, User
from clinic.permissions import AuthedRequest, has_module_perm, module_required, public_view
from integrations.amocrm import panel, setup, widget
from integrations.amocrm.config import SYSTEM, AmoSettings
from integrations.amocrm.forms_widget import PanelBookForm, PanelEditForm, PanelSearchForm
from integrations.amocrm.sync import client_for, connection_get
from integrations.http import IntegrationError
from integrations.models import Connection, ConnectionStatus
from integrations.services import connection_credentials_set
from pricelist.models import Service

SLOTS_SHOWN = 48
SECRET_MAX = 500


# --- Settings page ------------------------------------------------------------------------


def _site(request: HttpRequest) -> str:
    return setup.site_url(request.build_absolute_uri, "/").rstrip("/")


@module_required("settings", "change")
def widget_download(request: AuthedRequest) -> HttpResponse:
    response = HttpResponse(widget.build_zip(_site(request)), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="odonta-amocrm-widget.zip"'
    return response


@require_POST
@module_required("settings", "change")
def widget_secret(request: AuthedRequest) -> HttpResponse:
    connection = connection_get()
    secret = request.POST.get("widget_secret", "").strip()
    if connection is None or not connection.has_credentials:
        messages.error(request, _("Connect amoCRM first."))
    elif len(secret) > SECRET_MAX or "\x00" in secret:
        messages.error(request, _("This does not look like an integration's secret key."))
    else:
        credentials = connection.get_credentials()
        credentials.pop("widget_secret", None)
        if secret:
            credentials["widget_secret"] = secret
        connection_credentials_set(
            connection=connection, credentials=credentials, status=None, by=request.user
        )
        messages.success(
            request,
            _("The widget's secret key is saved.") if secret else _("The widget's key is removed."),
        )
    return redirect("integrations:amocrm-integration")


# --- The session script.js asks for -------------------------------------------------------


def account_origin(connection: Connection | None) -> str:
    if connection is None or connection.status == ConnectionStatus.DISCONNECTED:
        return ""
    return widget.origin_of(connection.base_url)


def _cors(response: HttpResponse, request: HttpRequest, origin: str) -> HttpResponse:
    response["Vary"] = "Origin"
    if origin and request.headers.get("Origin", "").lower() == origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "X-Auth-Token, Content-Type"
        response["Access-Control-Max-Age"] = "600"
    return response


def _posted_lead_id(request: HttpRequest) -> object:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return None
        return data.get("lead_id") if isinstance(data, dict) else None
    return request.POST.get("lead_id")


def _mapped_user(connection: Connection, claims: dict) -> User:
    employee_id = AmoSettings.of(connection).employee_for(widget._int(claims.get("user_id")))
    employee = (
        Employee.objects.filter(pk=employee_id).select_related("user").first()
        if employee_id
        else None
    )
    if employee is None or employee.user is None or not employee.user.is_active:
        raise widget.Refused(
            _(
                "Your amoCRM user is not matched to an Odonta employee who can sign in: ask "
                "the administrator to match users in Odonta (amoCRM setup, Users)."
            )
        )
    if not has_module_perm(employee.user, "calendar", "view"):
        raise widget.Refused(_("Your Odonta account has no right to see the calendar."))
    return employee.user


@public_view
@csrf_exempt
def widget_session(request: HttpRequest) -> HttpResponse:
    connection = connection_get()
    origin = account_origin(connection)
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), request, origin)
    if request.method != "POST":
        response = JsonResponse({"error": _("Only POST is accepted here.")}, status=405)
        response["Allow"] = "POST, OPTIONS"
        return _cors(response, request, origin)
    try:
        if connection is None or connection.status != ConnectionStatus.CONNECTED:
            raise widget.Refused(_("amoCRM is not connected to this Odonta."))
        token = request.headers.get("X-Auth-Token", "").strip()
        if not token or len(token) > 4000:
            raise widget.Refused(_("amoCRM's token is missing: reload the deal card."), 401)
        site = _site(request)
        claims = widget.token_claims(token, connection=connection, audiences=[site, site + "/"])
        lead_id = widget.lead_id_of(_posted_lead_id(request))
        user = _mapped_user(connection, claims)
    except widget.Refused as refused:
        answer = JsonResponse({"error": refused.message}, status=refused.status)
        return _cors(answer, request, origin)
    token = widget.panel_token(widget.PanelSession(connection.pk, lead_id, user.pk))
    url = site + reverse("integrations:amocrm-panel", args=[token])
    return _cors(JsonResponse({"url": url}), request, origin)


# --- The panel ----------------------------------------------------------------------------


@dataclass
class Panel:
    token: str
    lead_id: int
    connection: Connection
    user: User
    origin: str

    def url(self, name: str = "") -> str:
        return reverse(f"integrations:amocrm-panel{name}", args=[self.token])


def _panel_of(token: str) -> Panel:
    session = widget.panel_session(token)
    connection = Connection.objects.filter(pk=session.connection_id, system=SYSTEM).first()
    if connection is None or connection.status != ConnectionStatus.CONNECTED:
        raise widget.Refused(_("amoCRM is not connected to this Odonta."))
    user = User.objects.filter(pk=session.user_id, is_active=True).first()
    employee = Employee.objects.filter(user_id=session.user_id).only("pk").first()
    if user is None or employee is None:
        raise widget.Refused(_("Your Odonta account is not active."))
    if AmoSettings.of(connection).amo_user_for(employee.pk) is None:
        raise widget.Refused(_("Your amoCRM user is no longer matched to an Odonta employee."))
    return Panel(token, session.lead_id, connection, user, account_origin(connection))


def _refused_page(request: HttpRequest, message: str, status: int = 403) -> HttpResponse:
    return render(request, "integrations/amocrm/panel.html", {"refusal": message}, status=status)


def panel_view(action: str) -> Callable:
    """A panel view: the token's panel, the user's language, the right ``action`` on the
    calendar, framed only by the account's page."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
            try:
                found = _panel_of(token)
            except widget.Refused as refused:
                with translation.override("ru"):
                    response = _refused_page(request, refused.message)
                response["Content-Security-Policy"] = "frame-ancestors 'none'"
                return response
            language = found.user.language or "ru"
            with translation.override(language):
                request.LANGUAGE_CODE = language
                if has_module_perm(found.user, "calendar", action):
                    response = view(request, found, *args, **kwargs)
                else:
                    response = _refused_page(
                        request, _("Your Odonta account has no right to change visits.")
                    )
            ancestors = found.origin or "'none'"
            response["Content-Security-Policy"] = f"frame-ancestors {ancestors}"
            response["Cache-Control"] = "no-store"
            return response

        return public_view(csrf_exempt(xframe_options_exempt(wrapped)))

    return decorate


def _visit(found: Panel) -> tuple[Appointment | None, str]:
    """The deal's visit as the user may see it, or None with the reason."""
    visit_id = panel.lead_visit_id(found.lead_id)
    if visit_id is None:
        return None, ""
    visit = (
        Appointment.objects.for_user(found.user)
        .select_related("branch", "chair", "doctor", "patient")
        .filter(pk=visit_id)
        .first()
    )
    if visit is not None:
        return visit, ""
    if Appointment.all_objects.filter(pk=visit_id, deleted_at__isnull=False).exists():
        return None, _("The deal's visit was deleted in Odonta.")
    return None, _("The deal's visit is in a branch you do not work in.")


def _render(request: HttpRequest, found: Panel, screen: str, status: int = 200, **context):
    context.update(panel=found, screen=screen)
    if "durations" in context:
        context["durations_json"] = json.dumps(context.pop("durations"))
    template = "integrations/amocrm/panel.html"
    if request.headers.get("HX-Request") and screen in ("slots", "confirm"):
        template += f"#{screen}"
    return render(request, template, context, status=status)


@panel_view("view")
def panel_show(request: HttpRequest, found: Panel) -> HttpResponse:
    visit, problem = _visit(found)
    context: dict = {"visit": visit, "problem": problem}
    if visit is not None:
        lines = list(visit.service_lines.select_related("service").order_by("pk"))
        context.update(
            lines=lines,
            total=panel.lines_total(lines),
            local_start=timezone.localtime(visit.start, visit.branch.zone),
            local_end=timezone.localtime(visit.end, visit.branch.zone),
            minutes=int(visit.duration.total_seconds() // 60),
            status_style=status_styles()[visit.status],
            can_change=has_module_perm(found.user, "calendar", "change")
            and visit.status != StatusCode.CANCELLED,
            can_book_again=visit.status == StatusCode.CANCELLED
            and has_module_perm(found.user, "calendar", "change"),
        )
    else:
        # A deal whose visit was deleted may be booked again, like one with none.
        bookable = not problem or panel.lead_bookable(found.lead_id)
        context["can_book"] = bookable and has_module_perm(found.user, "calendar", "change")
    status = 404 if problem and not context.get("can_book") else 200
    return _render(request, found, "show", status=status, **context)


def _shift_chair(doctor: Employee, start: datetime.datetime, end: datetime.datetime, branch):
    """The chair of the doctor's shift that holds the visit, in the visit's branch."""
    shift = (
        WorkShift.objects.filter(doctor=doctor, branch=branch, start__lte=start, end__gte=end)
        .select_related("chair__branch")
        .first()
    )
    return shift.chair if shift else None


@panel_view("change")
def panel_edit(request: HttpRequest, found: Panel) -> HttpResponse:
    visit, problem = _visit(found)
    if visit is None or visit.status == StatusCode.CANCELLED:
        message = problem or _("The deal has no visit to edit.")
        return _render(request, found, "show", status=404, problem=message)
    local = timezone.localtime(visit.start, visit.branch.zone)
    lines = list(visit.service_lines.select_related("service").order_by("pk"))
    initial = {
        "date": local.date(),
        "time": local.time().replace(second=0, microsecond=0),
        "doctor": visit.doctor_id,
        "services": list(dict.fromkeys(line.service_id for line in lines)),
        "duration": int(visit.duration.total_seconds() // 60),
    }
    form = PanelEditForm(
        request.POST if request.method == "POST" else None,
        user=found.user,
        branch=visit.branch,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        kept: dict[int, list[calendar.Line]] = {}
        for line in lines:
            kept.setdefault(line.service_id, []).append(
                calendar.Line(line.service, line.tooth, line.quantity)
            )
        chair = _shift_chair(data["doctor"], data["start"], data["end"], visit.branch)
        try:
            calendar.appointment_edit(
                appointment=visit,
                by=found.user,
                start=data["start"],
                end=data["end"],
                chair=chair or visit.chair,
                doctor=data["doctor"],
                # A service kept keeps its teeth and quantities; a new one comes once.
                services=[
                    line for s in data["services"] for line in kept.get(s.pk, [calendar.Line(s)])
                ],
                note=visit.note,
            )
        except ValidationError as error:
            form.add_error(None, " ".join(error.messages))
        else:
            return redirect(found.url())
    return _render(
        request,
        found,
        "edit",
        status=422 if form.errors else 200,
        form=form,
        visit=visit,
        durations=_durations(),
    )


@panel_view("change")
def panel_cancel(request: HttpRequest, found: Panel) -> HttpResponse:
    visit, problem = _visit(found)
    if visit is None or visit.status == StatusCode.CANCELLED:
        message = problem or _("The deal has no visit to cancel.")
        return _render(request, found, "show", status=404, problem=message)
    error = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "").strip()[:300]
        try:
            panel.lead_visit_cancel(
                connection=found.connection,
                appointment=visit,
                by=found.user,
                reason=reason,
                lead_id=found.lead_id,
            )
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        else:
            return redirect(found.url())
    return _render(request, found, "cancel", status=422 if error else 200, visit=visit, error=error)


def _durations() -> dict[int, int]:
    return dict(Service.objects.values_list("pk", "duration_minutes"))


def _no_visit_yet(request: HttpRequest, found: Panel) -> HttpResponse | None:
    """The booking's pages are for a deal with no visit, or a cancelled or deleted one."""
    if not panel.lead_bookable(found.lead_id):
        return redirect(found.url())
    return None


@panel_view("change")
def panel_book(request: HttpRequest, found: Panel) -> HttpResponse:
    """The booking's first step: branch, doctor, services, duration, date."""
    if (answer := _no_visit_yet(request, found)) is not None:
        return answer
    today = timezone.localdate()
    form = PanelSearchForm(user=found.user, initial={"date": today})
    # The first branch the user works in is where a manager books most: preselected.
    form.initial["branch"] = form.fields["branch"].queryset.first()  # type: ignore[attr-defined]
    return _render(request, found, "book", form=form, durations=_durations())


@panel_view("change")
def panel_slots(request: HttpRequest, found: Panel) -> HttpResponse:
    """The free start times for the search (a fragment of the booking page)."""
    form = PanelSearchForm(request.GET, user=found.user)
    if not form.is_valid():
        return _render(
            request, found, "slots", status=422, form=form, slots=None, durations=_durations()
        )
    data = form.cleaned_data
    branch = data["branch"]
    slots = find_slots(
        date_from=data["date"],
        date_to=data["date"],
        duration=data["length"],
        branch_id=branch.pk,
        doctor_id=data["doctor"].pk if data["doctor"] else None,
        limit=SLOTS_SHOWN,
    )
    doctors = Employee.objects.in_bulk({slot.doctor_id for slot in slots})
    minutes = int(data["length"].total_seconds() // 60)
    offered = []
    for slot in slots:
        local = timezone.localtime(slot.start, branch.zone)
        query = request.GET.copy()
        query.setlist("doctor", [str(slot.doctor_id)])
        query["chair"] = str(slot.chair_id)
        query["duration"] = str(minutes)
        query["start"] = local.strftime("%Y-%m-%dT%H:%M:%S")
        offered.append(
            {"start": local, "doctor": doctors[slot.doctor_id], "query": query.urlencode()}
        )
    return _render(request, found, "slots", form=form, slots=offered, minutes=minutes)


@panel_view("change")
def panel_confirm(request: HttpRequest, found: Panel) -> HttpResponse:
    """The chosen time with a note; its POST books the visit and links it to the deal."""
    if (answer := _no_visit_yet(request, found)) is not None:
        return answer
    data_in = request.POST if request.method == "POST" else request.GET
    form = PanelBookForm(data_in, user=found.user)
    error = ""
    if not form.is_valid():
        return _render(request, found, "confirm", status=422, form=form, error=error)
    data = form.cleaned_data
    if request.method == "POST":
        try:
            with client_for(found.connection) as client:
                patient = panel.lead_patient(found.connection, client, found.lead_id)
            panel.lead_visit_book(
                lead_id=found.lead_id,
                by=found.user,
                patient=patient,
                doctor=data["doctor"],
                chair=data["chair"],
                start=data["start"],
                end=data["end"],
                services=data["services"],
                note=data["note"],
            )
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        except IntegrationError:
            error = _("amoCRM did not answer; try again in a minute.")
        else:
            if request.headers.get("HX-Request"):
                return HttpResponse(status=204, headers={"HX-Redirect": found.url()})
            return redirect(found.url())
    context = {
        "form": form,
        "error": error,
        "local_start": timezone.localtime(data["start"], data["branch"].zone),
        "minutes": int(data["length"].total_seconds() // 60),
    }
    return _render(request, found, "confirm", status=422 if error else 200, **context)
