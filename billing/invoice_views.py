"""The new-invoice dialog: choose a completed visit, an approved plan or single services;
tick the lines, give each a discount ("10%" or "500"), a doctor and an assistant, a discount
on the whole invoice and a note; it is saved as a draft the card then issues."""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import selectors, services
from billing.forms import InvoiceHeadForm, parse_discount, staff_choices
from billing.invoicing import LineInput, lines_from_plan, lines_from_visit
from billing.views import CHANGED
from calendar_app.models import Appointment
from clinic.bounds import parse_id
from clinic.htmx import close_dialog
from clinic.models import Branch
from clinic.permissions import AuthedRequest, module_required
from clinical.access import card_patient
from clinical.models import TreatmentPlan
from patients.models import Patient
from pricelist.models import Service

SERVICE_ROWS = 5


@dataclass
class Row:
    key: str  # the name suffix of the row's inputs
    line: LineInput | None
    label: str


def _employee(request, value, staff_by_id) -> object:
    if not (value or "").strip():
        return None
    employee = staff_by_id.get(parse_id(value))
    if employee is None:
        raise ValidationError(_("Choose a doctor or an assistant from the list."))
    return employee


def _source(request: AuthedRequest, patient: Patient, data) -> tuple[str, object]:
    """("visit", visit) / ("plan", plan) / ("services", branch) / ("", None) from the query
    or the form; another branch's visit or plan, or another patient's, is a 404."""
    if visit_id := data.get("visit"):
        visit = get_object_or_404(
            Appointment.objects.for_user(request.user).select_related("doctor", "branch"),
            pk=parse_id(visit_id) or 0,
            patient=patient,
        )
        return "visit", visit
    if plan_id := data.get("plan"):
        plan = get_object_or_404(
            TreatmentPlan.objects.for_user(request.user).select_related("doctor", "branch"),
            pk=parse_id(plan_id) or 0,
            patient=patient,
        )
        return "plan", plan
    if data.get("services"):
        return "services", None
    return "", None


def _rows(source: str, subject) -> list[Row]:
    if source == "visit":
        return [
            Row(str(line.appointment_service.pk), line, line.appointment_service.label)  # type: ignore[union-attr]
            for line in lines_from_visit(subject)
        ]
    if source == "plan":
        return [
            Row(str(line.plan_line.pk), line, f"{line.tooth or ''} {line.service}".strip())  # type: ignore[union-attr]
            for line in lines_from_plan(subject)
        ]
    return [Row(str(i), None, "") for i in range(SERVICE_ROWS)]


def _chosen_lines(request, source: str, rows: list[Row], staff_by_id) -> list[LineInput]:
    post = request.POST
    chosen = set(post.getlist("line"))
    lines = []
    services_by_id = {}
    if source == "services":
        ids = [parse_id(post.get(f"service-{row.key}")) for row in rows]
        services_by_id = Service.objects.in_bulk([i for i in ids if i])
    for row in rows:
        if source == "services":
            service = services_by_id.get(parse_id(post.get(f"service-{row.key}")) or 0)
            if service is None:
                continue
            tooth = (post.get(f"tooth-{row.key}") or "").strip()
            quantity = (post.get(f"quantity-{row.key}") or "1").strip()
            if not quantity.isascii() or not quantity.isdigit() or len(quantity) > 4:
                raise ValidationError(_("A quantity is a whole number."))
            if tooth and (not tooth.isascii() or not tooth.isdigit() or len(tooth) > 2):
                raise ValidationError(_("A tooth is its FDI number (11-85)."))
            line = LineInput(
                service=service, tooth=int(tooth) if tooth else None, quantity=int(quantity)
            )
        else:
            if row.key not in chosen:
                continue
            assert row.line is not None
            line = row.line
        line.discount = parse_discount(post.get(f"discount-{row.key}"))
        doctor = _employee(request, post.get(f"doctor-{row.key}"), staff_by_id)
        if doctor is not None or source == "services":
            line.doctor = doctor  # type: ignore[assignment]
        line.assistant = _employee(request, post.get(f"assistant-{row.key}"), staff_by_id)  # type: ignore[assignment]
        lines.append(line)
    return lines


@module_required("billing", "change")
def invoice_new(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = card_patient(request, pk)
    data = request.POST if request.method == "POST" else request.GET
    source, subject = _source(request, patient, data)
    staff = staff_choices(request.user)
    staff_by_id = {e.pk: e for e in staff}
    head = InvoiceHeadForm(request.POST or None, patient=patient, on=timezone.localdate())
    context: dict = {"patient": patient, "source": source, "subject": subject, "staff": staff}
    if not source:
        context["visits"] = selectors.billable_visits(request.user, patient)
        context["plans"] = selectors.billable_plans(request.user, patient)
        return render(request, "billing/invoice_new.html", context)
    error = ""
    try:
        rows = _rows(source, subject)
    except ValidationError as refused:
        rows, error = [], " ".join(refused.messages)
    branches = list(Branch.objects.for_user(request.user).order_by("name"))
    if source == "services":
        context["services"] = Service.objects.select_related("category").only(
            "code", "name", "category__name", "category__position", "position"
        )
    context.update({"rows": rows, "head": head, "branches": branches, "error": error})
    if request.method != "POST" or error:
        return render(request, "billing/invoice_new.html", context, status=422 if error else 200)
    try:
        if not head.is_valid():
            raise ValidationError(_("Check the discount and the note."))
        lines = _chosen_lines(request, source, rows, staff_by_id)
        branch = _branch(request, source, subject, branches)
        services.invoice_create(
            patient=patient,
            branch=branch,
            lines=lines,
            by=request.user,
            appointment=subject if source == "visit" else None,  # type: ignore[arg-type]
            plan=subject if source == "plan" else None,  # type: ignore[arg-type]
            discount=head.cleaned_data["discount"],
            note=head.cleaned_data["note"],
            chosen_discount=head.cleaned_data["chosen_discount"],
        )
    except ValidationError as refused:
        context["error"] = " ".join(refused.messages)
        return render(request, "billing/invoice_new.html", context, status=422)
    messages.success(request, _("The invoice is made: issue it to bill the patient."))
    return close_dialog(CHANGED, request=request)


def _branch(request: AuthedRequest, source: str, subject, branches: list[Branch]) -> Branch:
    if source == "visit":
        return subject.branch
    chosen = parse_id(request.POST.get("branch"))
    for branch in branches:
        if branch.pk == chosen:
            return branch
    if source == "plan" and any(b.pk == subject.branch_id for b in branches):
        return subject.branch
    if len(branches) == 1:
        return branches[0]
    raise ValidationError(_("Choose the branch the invoice is issued in."))
