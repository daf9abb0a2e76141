"""The card's Treatment plan section (registered with ``patients.card_sections``): the
patient's plans on the left, the chosen plan on the right with the teeth picker, the price
list, the lines by stage with their totals, the status buttons, "Suggest" from the ticked
diagnoses, and the print. Every action answers the whole section again (htmx swaps it)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from clinic import teeth
from clinic.bounds import InputRefused, parse_id, parse_id_list
from clinic.models import Employee
from clinic.permissions import AuthedRequest, has_module_perm, module_required
from clinical import plan_booking, plan_selectors, plans
from clinical.access import card_patient, require_card_access
from clinical.models import PlanLine, PlanStage, PlanStatus, TreatmentPlan
from clinical.plan_forms import LinesAddForm, LineUpdateForm, PlanForm, StageForm, SuggestForm
from documents import rendering
from documents.context import build_context
from documents.views import pdf_response
from patients.models import Patient

SUGGESTIONS_SHOWN = 10

STATUS_ACTIONS = {
    "approve": PlanStatus.APPROVED,
    "complete": PlanStatus.COMPLETED,
    "cancel": PlanStatus.CANCELLED,
}


def _plan(request: AuthedRequest, pk: int) -> TreatmentPlan:
    """A plan of the user's branches whose card is not deleted; 404 otherwise."""
    require_card_access(request)
    return get_object_or_404(
        TreatmentPlan.objects.for_user(request.user)
        .filter(patient__deleted_at__isnull=True)
        .select_related("patient", "doctor", "branch"),
        pk=pk,
    )


def _line(request: AuthedRequest, pk: int) -> PlanLine:
    require_card_access(request)
    return get_object_or_404(
        PlanLine.objects.filter(
            plan__in=TreatmentPlan.objects.for_user(request.user),
            plan__patient__deleted_at__isnull=True,
        ).select_related("plan"),
        pk=pk,
    )


def _render(
    request: AuthedRequest,
    patient: Patient,
    plan: TreatmentPlan | None,
    *,
    add_form: LinesAddForm | None = None,
    suggest_form: SuggestForm | None = None,
    suggestions=None,
    more_suggestions: int = 0,
    error: str = "",
    notes: list[str] | None = None,
    status: int = 200,
    trigger: bool = False,
) -> HttpResponse:
    can_change = has_module_perm(request.user, "clinical", "change")
    plan_rows = plan_selectors.plans_for_patient(request.user, patient.pk)
    if plan is None and plan_rows:
        plan = plan_rows[0][0]
    view = plan_selectors.plan_view(plan) if plan is not None else None
    editable = can_change and plan is not None and plan.is_draft
    context = {
        "patient": patient,
        "plan_rows": plan_rows,
        "plan": plan,
        "view": view,
        "can_change": can_change,
        "editable": editable,
        "error": error,
        "notes": notes or [],
        "suggestions": suggestions,
        "more_suggestions": more_suggestions,
    }
    if plan is not None and plan.status == PlanStatus.APPROVED and can_change:
        context["bookable_visits"] = list(plan_booking.bookable_visits(plan, request.user)[:30])
    if view is not None:
        context["booked_visits"] = plan_booking.visits_of(view, request.user)
    if editable:
        assert plan is not None
        diagnoses = plan_selectors.current_diagnoses(patient.pk)
        context.update(
            add_form=add_form or LinesAddForm(plan=plan, initial={"quantity": 1}),
            categories=plan_selectors.service_choices(plan),
            diagnoses=diagnoses,
            diagnosed_teeth={tooth for entry in diagnoses for tooth in entry.teeth},
            ticked={str(pk) for pk in suggest_form["records"].value() or []}
            if suggest_form is not None
            else set(),
            rows=[
                [[selectors_tooth(number) for number in half] for half in row]
                for row in teeth.rows(teeth.Dentition.PERMANENT)
            ],
            selected=set(request.POST.getlist("teeth")) if add_form is not None else set(),
            plan_form=PlanForm(
                user=request.user, initial={"title": plan.title, "doctor": plan.doctor_id}
            ),
        )
    response = render(request, "clinical/plans.html", context, status=status)
    if trigger:
        response["HX-Trigger"] = "planChanged"
    return response


def selectors_tooth(number: int) -> dict:
    return {"number": number, "jaw": teeth.jaw_of(number)}


def _refused(request, patient, plan, error: ValidationError, **kwargs) -> HttpResponse:
    return _render(request, patient, plan, error=" ".join(error.messages), status=422, **kwargs)


@require_GET
@module_required("clinical", "view")
def plans_section(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = card_patient(request, pk)
    plan = None
    wanted = request.GET.get("plan", "")
    if wanted:
        plan_id = parse_id(wanted)
        plan = (
            TreatmentPlan.objects.for_user(request.user)
            .filter(pk=plan_id or 0, patient=patient)
            .select_related("doctor")
            .first()
        )
        if plan is None:
            raise Http404
    return _render(request, patient, plan)


@require_POST
@module_required("clinical", "change")
def plan_new(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = card_patient(request, pk)
    branch = request.branch
    if not branch:
        raise PermissionDenied(_("Choose a branch to work in first."))
    doctor = Employee.objects.filter(user=request.user).doctors().first()
    plan = plans.plan_create(patient=patient, branch=branch, doctor=doctor, by=request.user)
    return _render(request, patient, plan, trigger=True)


@require_GET
@module_required("clinical", "view")
def plan_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    return _render(request, plan.patient, plan)


@require_POST
@module_required("clinical", "change")
def plan_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    form = PlanForm(request.POST, user=request.user)
    if not form.is_valid():
        return _render(request, plan.patient, plan, error=_form_error(form), status=422)
    try:
        plan = plans.plan_update(plan=plan, by=request.user, **form.cleaned_data)
    except ValidationError as error:
        return _refused(request, plan.patient, plan, error)
    return _render(request, plan.patient, plan, trigger=True)


def _form_error(form) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


@require_POST
@module_required("clinical", "change")
def lines_add(request: AuthedRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    form = LinesAddForm(request.POST, plan=plan)
    if form.is_valid():
        data = form.cleaned_data
        try:
            plans.lines_add(
                plan=plan,
                service=data["service"],
                teeth_numbers=data["teeth"],
                quantity=data["quantity"],
                stage=data["stage"],
                diagnosis=data["diagnosis"],
                dentition=data["dentition"] or None,
                by=request.user,
            )
        except ValidationError as error:
            return _refused(request, plan.patient, plan, error, add_form=form)
        return _render(request, plan.patient, plan, trigger=True)
    return _render(request, plan.patient, plan, add_form=form, error=_form_error(form), status=422)


@require_POST
@module_required("clinical", "change")
def stage_add(request: AuthedRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    form = StageForm(request.POST)
    if not form.is_valid():
        return _render(request, plan.patient, plan, error=_form_error(form), status=422)
    try:
        plans.stage_add(plan=plan, name=form.cleaned_data["name"], by=request.user)
    except ValidationError as error:
        return _refused(request, plan.patient, plan, error)
    return _render(request, plan.patient, plan, trigger=True)


def _stage(request: AuthedRequest, pk: int) -> PlanStage:
    require_card_access(request)
    return get_object_or_404(
        PlanStage.objects.filter(
            plan__in=TreatmentPlan.objects.for_user(request.user),
            plan__patient__deleted_at__isnull=True,
        ).select_related("plan__patient"),
        pk=pk,
    )


@require_POST
@module_required("clinical", "change")
def stage_rename(request: AuthedRequest, pk: int) -> HttpResponse:
    stage = _stage(request, pk)
    plan = stage.plan
    form = StageForm(request.POST)
    if not form.is_valid():
        return _render(request, plan.patient, plan, error=_form_error(form), status=422)
    try:
        plans.stage_rename(stage=stage, name=form.cleaned_data["name"], by=request.user)
    except ValidationError as error:
        return _refused(request, plan.patient, plan, error)
    return _render(request, plan.patient, plan, trigger=True)


@require_POST
@module_required("clinical", "change")
def stage_move(request: AuthedRequest, pk: int) -> HttpResponse:
    stage = _stage(request, pk)
    plan = stage.plan
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        return _render(
            request, plan.patient, plan, error=_("Move the stage up or down."), status=422
        )
    try:
        plans.stage_move(stage=stage, up=direction == "up", by=request.user)
    except ValidationError as error:
        return _refused(request, plan.patient, plan, error)
    return _render(request, plan.patient, plan, trigger=True)


@require_POST
@module_required("clinical", "change")
def stage_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    stage = _stage(request, pk)
    plan = stage.plan
    try:
        plans.stage_remove(stage=stage, by=request.user)
    except ValidationError as error:
        return _refused(request, plan.patient, plan, error)
    return _render(request, plan.patient, plan, trigger=True)


@require_POST
@module_required("clinical", "change")
def line_update(request: AuthedRequest, pk: int) -> HttpResponse:
    line = _line(request, pk)
    plan = _plan(request, line.plan_id)
    form = LineUpdateForm(request.POST, plan=plan)
    if not form.is_valid():
        return _render(request, plan.patient, plan, error=_form_error(form), status=422)
    try:
        plans.line_update(
            line=line,
            quantity=form.cleaned_data["quantity"],
            stage=form.cleaned_data["stage"],
            by=request.user,
        )
    except ValidationError as error:
        return _refused(request, plan.patient, plan, error)
    return _render(request, plan.patient, plan, trigger=True)


@require_POST
@module_required("clinical", "change")
def line_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    line = _line(request, pk)
    plan = _plan(request, line.plan_id)
    try:
        plans.line_remove(line=line, by=request.user)
    except ValidationError as error:
        return _refused(request, plan.patient, plan, error)
    return _render(request, plan.patient, plan, trigger=True)


@require_POST
@module_required("clinical", "change")
def plan_status(request: AuthedRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    status = STATUS_ACTIONS.get(request.POST.get("action", ""))
    if status is None:
        return _render(
            request, plan.patient, plan, error=_("Unknown action on the plan."), status=400
        )
    try:
        plan = plans.plan_set_status(plan=plan, status=status, by=request.user)
    except ValidationError as error:
        return _refused(request, plan.patient, plan, error)
    return _render(request, plan.patient, plan, trigger=True)


@require_POST
@module_required("clinical", "change")
def plan_book(request: AuthedRequest, pk: int) -> HttpResponse:
    """Book the ticked lines of an approved plan into one of the patient's visits ahead."""
    plan = _plan(request, pk)
    try:
        line_ids = parse_id_list(",".join(request.POST.getlist("lines")))
    except ValueError as error:
        raise InputRefused(_("Bad list of plan lines.")) from error
    visit = (
        plan_booking.bookable_visits(plan, request.user)
        .filter(pk=parse_id(request.POST.get("visit")) or 0)
        .first()
    )
    if visit is None:
        refusal = ValidationError(_("Choose one of the patient's visits ahead."))
        return _refused(request, plan.patient, plan, refusal)
    try:
        plan_booking.lines_book(plan=plan, line_ids=line_ids, appointment=visit, by=request.user)
    except ValidationError as error:
        return _refused(request, plan.patient, plan, error)
    return _render(request, plan.patient, plan, trigger=True)


@require_GET
@module_required("clinical", "change")
def plan_suggest(request: AuthedRequest, pk: int) -> HttpResponse:
    """The templates ranked for the ticked diagnoses (nothing is written)."""
    plan = _plan(request, pk)
    if "records" not in request.GET:  # nothing ticked: say so, nothing was refused
        error, status, suggestions = _("Tick at least one diagnosis."), 200, None
        form = None
    else:
        form = SuggestForm(request.GET, patient_id=plan.patient_id)
        if form.is_valid():
            ticked = {record.diagnosis_id for record in form.cleaned_data["records"]}
            error, status, suggestions = "", 200, plan_selectors.suggest(ticked)
        else:
            error, status, suggestions = _form_error(form), 422, None
    # The best few are shown; the rest on request, so that the page does not grow with the
    # number of templates that cover a diagnosis.
    more = 0
    if suggestions and not request.GET.get("all") and len(suggestions) > SUGGESTIONS_SHOWN:
        more = len(suggestions) - SUGGESTIONS_SHOWN
        suggestions = suggestions[:SUGGESTIONS_SHOWN]
    if request.htmx:
        # Only the ranking: the ticked boxes stay as they are on the page.
        context = {
            "plan": plan,
            "suggestions": suggestions,
            "suggest_error": error,
            "more_suggestions": more,
        }
        return render(request, "clinical/plans.html#suggestions", context, status=status)
    return _render(
        request,
        plan.patient,
        plan,
        suggest_form=form,
        suggestions=suggestions,
        more_suggestions=more,
        error=error,
        status=status,
    )


@require_POST
@module_required("clinical", "change")
def plan_apply(request: AuthedRequest, pk: int) -> HttpResponse:
    """Fill the draft from the chosen template; the doctor edits it and approves."""
    plan = _plan(request, pk)
    form = SuggestForm(request.POST, patient_id=plan.patient_id)
    if not form.is_valid() or form.cleaned_data["template"] is None:
        error = _form_error(form) if form.errors else _("Choose a template.")
        return _render(request, plan.patient, plan, suggest_form=form, error=error, status=422)
    try:
        filled = plans.plan_fill_from_template(
            plan=plan,
            template=form.cleaned_data["template"],
            teeth_by_diagnosis=form.teeth_by_diagnosis(),
            by=request.user,
        )
    except ValidationError as error:
        return _refused(request, plan.patient, plan, error, suggest_form=form)
    return _render(request, plan.patient, plan, notes=filled.skipped, trigger=True)


@require_GET
@module_required("clinical", "view")
def plan_print(request: AuthedRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    context = build_context(
        plan.patient, user=request.user, branch=plan.branch, subjects={"plan": plan}
    )
    piece = rendering.layout_piece("treatment_plan", plan, context)
    pdf = rendering.render([piece], context.organization)[0].pdf
    return pdf_response(pdf, f"{piece.title}.pdf")
