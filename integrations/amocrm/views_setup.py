"""Settings -> Integrations -> amoCRM -> Set up: the wizard's steps, each a form over what
the account holds (read from amoCRM for the page and again for the POST) that saves its part
of ``Connection.settings`` and goes on to the next step.

A failed call to amoCRM shows its message on the step's page (a 502, never a 500); a refused
token or access also marks the connection (needs reconnecting / paused).
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.models import Employee, Gender
from clinic.permissions import AuthedRequest, module_required
from integrations.amocrm import setup
from integrations.amocrm.client import AmoClient
from integrations.amocrm.config import LEAD_FIELDS, LOST, VISIT_STATUSES, AmoSettings
from integrations.amocrm.forms import (
    BIRTH_DATE_TYPES,
    GENDER_TYPES,
    FieldsForm,
    OwnersForm,
    PipelineForm,
    StatusesForm,
    UsersForm,
)
from integrations.amocrm.sync import connection_get
from integrations.http import Forbidden, IntegrationError, Unauthorized
from integrations.models import Connection, ConnectionStatus
from integrations.services import connection_settings_update, connection_status_after

STEPS = (
    ("pipeline", gettext_lazy("Pipeline")),
    ("fields", gettext_lazy("Fields")),
    ("statuses", gettext_lazy("Stages")),
    ("users", gettext_lazy("Users")),
    ("owners", gettext_lazy("Who owns the data")),
    ("finish", gettext_lazy("Finish")),
)
STEP_NAMES = [name for name, _label in STEPS]

Handler = Callable[[AuthedRequest, Connection, AmoClient], HttpResponse]


@module_required("settings", "change")
def setup_step(request: AuthedRequest, step: str) -> HttpResponse:
    handler = HANDLERS.get(step)
    if handler is None:
        raise Http404
    connection = connection_get()
    if connection is None or not connection.has_credentials:
        messages.info(request, _("Connect amoCRM first."))
        return redirect("integrations:amocrm-integration")
    if connection.status != ConnectionStatus.CONNECTED:
        messages.warning(request, _("Reconnect amoCRM first: %(reason)s") % _status(connection))
        return redirect("integrations:amocrm-integration")
    try:
        with AmoClient(connection) as client:
            return handler(request, connection, client)
    except IntegrationError as error:
        if isinstance(error, Forbidden | Unauthorized):
            connection_status_after(connection=connection, error=error)
        return _page(request, connection, step, error=setup.failure_message(error), status=502)


def _status(connection: Connection) -> dict[str, str]:
    return {"reason": connection.status_reason or connection.get_status_display()}


def _page(
    request: AuthedRequest,
    connection: Connection,
    step: str,
    *,
    status: int = 200,
    **context: Any,
) -> HttpResponse:
    context.update(
        tab="integrations",
        steps=STEPS,
        step=step,
        step_number=STEP_NAMES.index(step) + 1,
        connection=connection,
        amo=AmoSettings.of(connection),
    )
    return render(request, "integrations/amocrm/setup.html", context, status=status)


def _posted(request: AuthedRequest):
    return request.POST if request.method == "POST" else None


def _saved(request: AuthedRequest, connection: Connection, step: str, values: dict[str, Any]):
    connection_settings_update(connection=connection, values=values, by=request.user)
    messages.success(request, _("Saved."))
    following = STEP_NAMES[STEP_NAMES.index(step) + 1]
    return redirect("integrations:amocrm-setup", step=following)


def _invalid(request: AuthedRequest) -> int:
    return 422 if request.method == "POST" else 200


# --- a. The pipeline -----------------------------------------------------------------------


def _pipeline(request: AuthedRequest, connection: Connection, client: AmoClient) -> HttpResponse:
    pipelines = setup.active_pipelines(client.pipelines())
    chosen = AmoSettings.of(connection).pipeline_id
    main = next((p for p in pipelines if p.get("is_main")), pipelines[0] if pipelines else None)
    initial = {"pipeline": str(chosen or (main or {}).get("id") or "")}
    form = PipelineForm(_posted(request), pipelines=pipelines, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = form.values()
        if values["pipeline_id"] != chosen:  # another pipeline's stages: map them anew
            values.update(status_to_stage=None, stage_to_status=None)
        return _saved(request, connection, "pipeline", values)
    return _page(request, connection, "pipeline", form=form, status=_invalid(request))


# --- b. The fields -------------------------------------------------------------------------


def _fields(request: AuthedRequest, connection: Connection, client: AmoClient) -> HttpResponse:
    contact_fields = client.custom_fields("contacts")
    lead_fields = client.custom_fields("leads")
    genders = list(Gender.objects.order_by("position", "name"))
    form = FieldsForm(
        _posted(request),
        contact_fields=contact_fields,
        lead_fields=lead_fields,
        genders=genders,
        initial=_fields_initial(connection, contact_fields, lead_fields, genders),
    )
    if request.method == "POST" and form.is_valid():
        contact_mis_id = setup.ensure_mis_id_field(client, "contacts", contact_fields)
        lead_mis_id = setup.ensure_mis_id_field(client, "leads", lead_fields)
        values = form.values(contact_mis_id=contact_mis_id, lead_mis_id=lead_mis_id)
        return _saved(request, connection, "fields", values)
    mis_id = {
        "contacts": _mis_id(contact_fields),
        "leads": _mis_id(lead_fields),
    }
    return _page(request, connection, "fields", form=form, mis_id=mis_id, status=_invalid(request))


def _mis_id(fields: list[dict[str, Any]]) -> Any:
    return next(
        (f.get("id") for f in fields if str(f.get("code") or "").upper() == setup.MIS_ID_CODE),
        None,
    )


# Words of a deal field's name that suggest what of a visit it holds (before anything is saved).
LEAD_FIELD_WORDS = {
    "date": ("дата", "date"),
    "time": ("время", "time"),
    "duration": ("длител", "duration"),
    "doctor": ("врач", "доктор", "doctor"),
    "branch": ("филиал", "branch"),
    "services": ("услуг", "service"),
}


def _fields_initial(
    connection: Connection, contact_fields: list, lead_fields: list, genders: list
) -> dict:
    amo = AmoSettings.of(connection)
    if "lead_fields" in connection.settings:
        initial: dict[str, Any] = {
            f"lead_{name}": amo.lead_fields.get(name) for name in LEAD_FIELDS
        }
    else:
        initial = {
            f"lead_{name}": _guess(lead_fields, None, LEAD_FIELD_WORDS[name], fallback=False)
            for name in LEAD_FIELDS
        }
    initial["app_accounts_time"] = amo.app_accounts_time
    initial["app_account"] = amo.contact_fields.get("app_account")
    if "contact_fields" in connection.settings:
        initial["birth_date"] = amo.contact_fields.get("birth_date")
        initial["gender"] = amo.contact_fields.get("gender")
        initial.update({f"gender_{g.pk}": amo.gender_enums.get(str(g.pk)) for g in genders})
        return initial
    # Not saved yet: guess the fields by their type and name, and the options by name.
    initial["birth_date"] = _guess(contact_fields, BIRTH_DATE_TYPES, ("рожд", "birth"))
    gender_field = _guess(contact_fields, GENDER_TYPES, ("пол", "gender", "sex"))
    initial["gender"] = gender_field
    enums = next((f.get("enums") or [] for f in contact_fields if f.get("id") == gender_field), [])
    for gender in genders:
        name = gender.name.strip().lower()
        match = next(
            (e for e in enums if str(e.get("value") or "").strip().lower() == name), None
        ) or next(
            (e for e in enums if str(e.get("value") or "").strip().lower()[:1] == name[:1]), None
        )
        initial[f"gender_{gender.pk}"] = match.get("id") if match else None
    return initial


def _guess(
    fields: list, types: tuple[str, ...] | None, words: tuple[str, ...], *, fallback: bool = True
) -> Any:
    """The first field of ``types`` whose name holds one of ``words`` (or, with ``fallback``,
    the first of those types); never the MIS ID field."""
    typed = [
        f
        for f in fields
        if (types is None or f.get("type") in types)
        and str(f.get("code") or "").upper() != setup.MIS_ID_CODE
    ]
    named = [f for f in typed if any(w in str(f.get("name") or "").lower() for w in words)]
    chosen = (named or (typed if fallback else []) or [None])[0]
    return chosen.get("id") if chosen else None


# --- c. The stages -------------------------------------------------------------------------


def _statuses(request: AuthedRequest, connection: Connection, client: AmoClient) -> HttpResponse:
    pipeline_id = AmoSettings.of(connection).pipeline_id
    pipeline = next((p for p in client.pipelines() if p.get("id") == pipeline_id), None)
    if pipeline is None:
        messages.warning(request, _("Choose the pipeline first."))
        return redirect("integrations:amocrm-setup", step="pipeline")
    stages = setup.pipeline_stages(pipeline)
    form = StatusesForm(
        _posted(request),
        stages=stages,
        loss_reasons=client.loss_reasons(),
        lost=LOST,
        initial=_statuses_initial(connection, stages),
    )
    if request.method == "POST" and form.is_valid():
        return _saved(request, connection, "statuses", form.values())
    return _page(
        request, connection, "statuses", form=form, pipeline=pipeline, status=_invalid(request)
    )


def _statuses_initial(connection: Connection, stages: list) -> dict[str, Any]:
    amo = AmoSettings.of(connection)
    raw = connection.settings
    if "status_to_stage" in raw or "stage_to_status" in raw:
        to_stage, from_stage = amo.status_to_stage, amo.stage_to_status
    else:
        to_stage, from_stage = setup.default_status_maps(stages)
    initial: dict[str, Any] = {f"to_{code}": to_stage.get(code) for code in VISIT_STATUSES}
    initial.update({f"stage_{s['id']}": from_stage.get(str(s["id"])) for s in stages})
    initial["loss_reason"] = amo.loss_reason_id
    return initial


# --- d. The users --------------------------------------------------------------------------


def _users(request: AuthedRequest, connection: Connection, client: AmoClient) -> HttpResponse:
    users = [u for u in client.users() if (u.get("rights") or {}).get("is_active", True)]
    employees = list(
        Employee.objects.for_user(request.user)
        .only("last_name", "first_name", "middle_name", "email")
        .order_by("last_name", "first_name", "middle_name", "pk")
    )
    amo = AmoSettings.of(connection)
    initial = {
        f"employee_{e.pk}": amo.users.get(str(e.pk))
        if "users" in connection.settings
        else _user_like(e, users)
        for e in employees
    }
    initial.update(_responsible_initial(amo))
    form = UsersForm(_posted(request), employees=employees, users=users, initial=initial)
    if request.method == "POST" and form.is_valid():
        return _saved(request, connection, "users", form.values(amo.users))
    return _page(request, connection, "users", form=form, status=_invalid(request))


def _responsible_initial(amo: AmoSettings) -> dict[str, Any]:
    initial: dict[str, Any] = {"settle_seconds": amo.settle_seconds}
    for kind in ("contact", "lead"):
        initial[f"responsible_in_{kind}"] = amo.responsible_flows_in(kind)
        initial[f"responsible_out_{kind}"] = amo.responsible_flows_out(kind)
    return initial


def _user_like(employee: Employee, users: list[dict[str, Any]]) -> Any:
    """The amoCRM user with the employee's email, or failing that with their name."""
    email = (employee.email or "").strip().lower()
    names = {employee.full_name.lower(), f"{employee.first_name} {employee.last_name}".lower()}
    for user in users:
        if email and str(user.get("email") or "").strip().lower() == email:
            return user.get("id")
    for user in users:
        if str(user.get("name") or "").strip().lower() in names:
            return user.get("id")
    return None


# --- e. Who owns each patient field --------------------------------------------------------


def _owners(request: AuthedRequest, connection: Connection, client: AmoClient) -> HttpResponse:
    owners = AmoSettings.of(connection).owners
    initial = {f"owner_{name}": owner for name, owner in owners.items()}
    form = OwnersForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        return _saved(request, connection, "owners", form.values())
    return _page(request, connection, "owners", form=form, status=_invalid(request))


# --- f. Finish: the webhook ----------------------------------------------------------------


def _finish(request: AuthedRequest, connection: Connection, client: AmoClient) -> HttpResponse:
    amo = AmoSettings.of(connection)
    missing = []
    if not amo.pipeline_id:
        missing.append(_("the pipeline"))
    if not (amo.contact_fields.get("mis_id") and amo.lead_fields.get("mis_id")):
        missing.append(_("the fields"))
    if request.method != "POST" or missing:
        error = (
            _("Complete these steps first: %(steps)s.") % {"steps": ", ".join(missing)}
            if missing and request.method == "POST"
            else ""
        )
        status = 409 if error else 200
        return _page(request, connection, "finish", missing=missing, error=error, status=status)

    def destination_for(secret: str) -> str:
        path = reverse("integrations:amocrm-hook", args=[secret])
        return setup.site_url(request.build_absolute_uri, path)

    setup.webhook_register(
        connection=connection, client=client, destination_for=destination_for, by=request.user
    )
    messages.success(request, _("amoCRM is set up: its changes now come to Odonta."))
    return redirect("integrations:amocrm-integration")


HANDLERS: dict[str, Handler] = {
    "pipeline": _pipeline,
    "fields": _fields,
    "statuses": _statuses,
    "users": _users,
    "owners": _owners,
    "finish": _finish,
}
