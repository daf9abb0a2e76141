"""The new-invoice dialog: choose a completed visit, an approved plan or single services;
tick the lines, give each a discount ("10%" or "500"), a doctor and an assistant, a discount
on the whole invoice and a note; it is saved as a draft the card then issues. The same dialog
changes a draft: its lines ticked with what they have (unticking one removes it), their
quantities, discounts, doctors and assistants, services added in a few empty rows as the
single services are chosen, the whole-invoice discount and the note."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import selectors, services
from billing.forms import InvoiceHeadForm, discount_text, parse_discount, staff_choices
from billing.invoicing import LineInput, lines_from_plan, lines_from_visit
from billing.models import Invoice
from billing.views import CHANGED, get_invoice_for_user
from calendar_app.models import Appointment
from clinic.bounds import parse_id
from clinic.htmx import close_dialog
from clinic.models import Branch, Employee
from clinic.permissions import AuthedRequest, module_required
from clinical.access import card_patient
from clinical.models import TreatmentPlan
from patients.models import Patient
from pricelist.models import Service

SERVICE_ROWS = 5
ADD_ROWS = 3  # empty service rows under a draft's lines


@dataclass
class Row:
    key: str  # the name suffix of the row's inputs
    line: LineInput | None  # None: a service row (a service from the price list, a tooth)
    label: str
    # What the row's inputs show: a draft's line as it stands, or what was posted.
    ticked: bool = True
    service_id: int | None = None
    tooth: str = ""
    quantity: str = ""
    discount: str = ""
    doctor_id: int | None = None
    assistant_id: int | None = None
    # A draft line's own doctor and assistant when the staff list has not got them
    # (dismissed, of another branch): offered too, so that saving keeps them.
    own_staff: list[Employee] = field(default_factory=list)


def _employee(request, value, staff_by_id) -> object:
    if not (value or "").strip():
        return None
    employee = staff_by_id.get(parse_id(value))
    if employee is None:
        raise ValidationError(_("Choose a doctor or an assistant from the list."))
    return employee


def _quantity(post, key: str) -> int:
    quantity = (post.get(f"quantity-{key}") or "1").strip()
    if not quantity.isascii() or not quantity.isdigit() or len(quantity) > 4:
        raise ValidationError(_("A quantity is a whole number."))
    return int(quantity)


def _price_list() -> list[tuple[int, str]]:
    """What a service row's select offers: (id, "code name") of the live services, in the
    price list's order (read once for every row)."""
    return [
        (pk, f"{code} {name}")
        for pk, code, name in Service.objects.values_list("pk", "code", "name")
    ]


def _service_rows(keys: Iterable[str]) -> list[Row]:
    return [Row(key, None, "", quantity="1") for key in keys]


def _service_line(post, key: str, services_by_id: dict[int, Service]) -> LineInput | None:
    """A service row as a line, priced later from the branch's price list; None when no
    service is chosen. A service that is not in the price list (deleted, or no such id) is
    refused rather than skipped, so that nothing the cashier chose is silently dropped."""
    chosen = (post.get(f"service-{key}") or "").strip()
    if not chosen:
        return None
    service = services_by_id.get(parse_id(chosen) or 0)
    if service is None:
        raise ValidationError(_("Choose a service from the price list."))
    tooth = (post.get(f"tooth-{key}") or "").strip()
    quantity = _quantity(post, key)
    if tooth and (not tooth.isascii() or not tooth.isdigit() or len(tooth) > 2):
        raise ValidationError(_("A tooth is its FDI number (11-85)."))
    return LineInput(service=service, tooth=int(tooth) if tooth else None, quantity=quantity)


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
    return _service_rows(str(i) for i in range(SERVICE_ROWS))


def _chosen_lines(request, source: str, rows: list[Row], staff_by_id) -> list[LineInput]:
    post = request.POST
    chosen = set(post.getlist("line"))
    if source != "services" and not chosen <= {row.key for row in rows if row.line}:
        if source == "edit":
            raise ValidationError(_("The draft has changed meanwhile: open it again."))
        raise ValidationError(_("Some of the chosen lines are not on this visit or plan."))
    ids = [parse_id(post.get(f"service-{row.key}")) for row in rows if row.line is None]
    services_by_id = Service.objects.in_bulk([i for i in ids if i])
    lines = []
    for row in rows:
        if row.line is None:
            line = _service_line(post, row.key, services_by_id)
            if line is None:
                continue
        elif row.key in chosen:
            line = row.line
            if source == "edit":
                line.quantity = _quantity(post, row.key)
        else:
            continue
        line.discount = parse_discount(post.get(f"discount-{row.key}"))
        allowed = {**staff_by_id, **{e.pk: e for e in row.own_staff}}
        doctor = _employee(request, post.get(f"doctor-{row.key}"), allowed)
        if doctor is not None or source in ("services", "edit"):
            line.doctor = doctor  # type: ignore[assignment]
        line.assistant = _employee(request, post.get(f"assistant-{row.key}"), allowed)  # type: ignore[assignment]
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
        context["services"] = _price_list()
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
        _as_posted(rows, request.POST)
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


@module_required("billing", "change")
def invoice_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    invoice = get_invoice_for_user(request, pk)
    staff = staff_choices(request.user)
    staff_by_id = {e.pk: e for e in staff}
    rows, error = _draft_rows(invoice, staff_by_id)
    add_rows = [] if error else _service_rows(f"add-{i}" for i in range(ADD_ROWS))
    initial = _draft_head(invoice) if request.method != "POST" and not error else None
    head = InvoiceHeadForm(
        request.POST or None, patient=invoice.patient, on=timezone.localdate(), initial=initial
    )
    context = {"patient": invoice.patient, "source": "edit", "subject": invoice, "staff": staff}
    context.update({"rows": rows, "add_rows": add_rows, "services": _price_list()})
    context.update({"head": head, "error": error})
    if request.method != "POST" or error:
        return render(request, "billing/invoice_new.html", context, status=422 if error else 200)
    try:
        if not head.is_valid():
            raise ValidationError(_("Check the discount and the note."))
        services.invoice_update(
            invoice=invoice,
            lines=_chosen_lines(request, "edit", rows + add_rows, staff_by_id),
            by=request.user,
            discount=head.cleaned_data["discount"],
            note=head.cleaned_data["note"],
            chosen_discount=head.cleaned_data["chosen_discount"],
        )
    except ValidationError as refused:
        context["error"] = " ".join(refused.messages)
        _as_posted(rows + add_rows, request.POST)
        return render(request, "billing/invoice_new.html", context, status=422)
    messages.success(request, _("The draft invoice is saved."))
    return close_dialog(CHANGED, request=request)


def _draft_rows(invoice: Invoice, staff_by_id) -> tuple[list[Row], str]:
    if not invoice.is_draft:
        return [], _("Only a draft invoice is changed.")
    rows = []
    for pk, line in services.lines_from_invoice(invoice).items():
        own = [e for e in (line.doctor, line.assistant) if e and e.pk not in staff_by_id]
        rows.append(
            Row(
                str(pk),
                line,
                f"{line.tooth or ''} {line.label}".strip(),
                quantity=str(line.quantity),
                discount=discount_text(line.discount),
                doctor_id=line.doctor.pk if line.doctor else None,
                assistant_id=line.assistant.pk if line.assistant else None,
                own_staff=list({e.pk: e for e in own}.values()),
            )
        )
    return rows, ""


def _as_posted(rows: list[Row], post) -> None:
    """A refused save shows the dialog again as it was filled in."""
    ticked = set(post.getlist("line"))
    for row in rows:
        row.ticked = row.key in ticked
        row.service_id = parse_id(post.get(f"service-{row.key}"))
        row.tooth = (post.get(f"tooth-{row.key}") or "")[:2]
        row.quantity = (post.get(f"quantity-{row.key}") or "")[:4]
        row.discount = (post.get(f"discount-{row.key}") or "")[:20]
        row.doctor_id = parse_id(post.get(f"doctor-{row.key}"))
        row.assistant_id = parse_id(post.get(f"assistant-{row.key}"))


def _draft_head(invoice: Invoice) -> dict:
    return {
        "discount": discount_text(services.invoice_discount(invoice)),
        "note": invoice.note,
        "chosen_discount": services.engine_discount_of(invoice),
    }
