"""Billing's lists beyond the card: the cash desk day, the debtors, the register of tax
certificates and the certificate's dialog and PDF."""

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing import cash, certificates, debts, income
from billing.certificate_models import TaxCertificate
from billing.report_forms import (
    CashDayFilter,
    CertificateForm,
    CertificatesFilter,
    DebtsFilter,
    IncomeFilter,
)
from clinic.lists import export_requested, export_response, paginate, query_without_page
from clinic.permissions import AuthedRequest, module_required, visible_branches
from documents import rendering
from documents.context import build_context
from documents.views import pdf_response
from patients import selectors as patient_selectors
from patients.models import Patient
from patients.selectors import search_condition

DEBTS_PER_PAGE = 50


def _patient(pk: int) -> Patient:
    try:
        return patient_selectors.patient_for_card(pk)
    except Patient.DoesNotExist as exc:
        raise Http404 from exc


@require_GET
@module_required("billing", "view")
def cash_day(request: AuthedRequest) -> HttpResponseBase:
    branch = getattr(request, "branch", None) or visible_branches(request.user).first()
    data = request.GET.copy()
    if "branch" not in data and branch is not None:
        data["branch"] = str(branch.pk)
    if "day" not in data and branch is not None:
        data["day"] = timezone.localtime(timezone.now(), branch.zone).date().isoformat()
    form = CashDayFilter(data, user=request.user)
    if not form.is_valid():
        return render(request, "billing/cash_day.html", {"form": form, "day": None}, status=400)
    day = cash.cash_day(form.cleaned_data["branch"], form.cleaned_data["day"])
    if fmt := export_requested(request):
        return export_response(
            fmt=fmt,
            filename=f"cash-{day.day.isoformat()}",
            headers=[
                _("Time"),
                _("Patient"),
                _("Operation"),
                _("Method"),
                _("Amount"),
                _("Cashier"),
            ],
            rows=(
                [
                    timezone.localtime(entry.created_at, day.branch.zone).strftime("%H:%M"),
                    entry.patient.full_name,
                    entry.get_kind_display(),
                    entry.method.name if entry.method else "",
                    entry.amount,
                    str(entry.created_by or ""),
                ]
                for entry in day.operations
            ),
        )
    return render(request, "billing/cash_day.html", {"form": form, "day": day})


@require_GET
@module_required("billing", "view")
def debt_list(request: AuthedRequest) -> HttpResponseBase:
    form = DebtsFilter(request.GET or None, user=request.user)
    if form.is_bound and not form.is_valid():
        return render(request, "billing/debts.html", {"form": form, "page": None}, status=400)
    values = form.cleaned_data if form.is_bound else {}
    branch, doctor = values.get("branch"), values.get("doctor")
    today = timezone.localdate()
    invoices = debts.open_invoices(
        request.user,
        branch_id=branch.pk if branch else None,
        doctor_id=doctor.pk if doctor else None,
        query=values.get("q") or "",
    )
    rows = debts.per_patient(invoices)
    if fmt := export_requested(request):
        return export_response(
            fmt=fmt,
            filename="debts",
            headers=[
                _("Patient"),
                _("Card number"),
                _("Phone"),
                _("Debt"),
                _("Unpaid invoices"),
                _("Days since the oldest"),
                _("Last visit"),
            ],
            rows=(
                [
                    row.patient.full_name,
                    row.patient.card_number,
                    row.patient.phone_display,
                    row.debt,
                    row.invoices,
                    row.age_days,
                    timezone.localtime(row.last_visit).date() if row.last_visit else "",
                ]
                for chunk in _chunks(rows, 1000)
                for row in debts.debtors(chunk, today=today)
            ),
        )
    summary = debts.summary(invoices)
    page = KnownCountPaginator(rows, DEBTS_PER_PAGE, count=summary.patients).get_page(
        request.GET.get("page")
    )
    page.object_list = debts.debtors(page.object_list, today=today)
    return render(
        request,
        "billing/debts.html",
        {
            "form": form,
            "page": page,
            "total": summary.total,
            "count": summary.patients,
            "query_string": query_without_page(request),
        },
    )


class KnownCountPaginator(Paginator):
    """A paginator told the number of rows (the summary counted them already), so paging
    a grouped query does not group it twice."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count


def _chunks(rows, size: int):
    offset = 0
    while chunk := list(rows[offset : offset + size]):
        yield chunk
        offset += size


@require_GET
@module_required("billing", "view")
def certificate_list(request: AuthedRequest) -> HttpResponseBase:
    form = CertificatesFilter(request.GET or None, today=timezone.localdate())
    if form.is_bound and not form.is_valid():
        return render(
            request, "billing/certificates.html", {"form": form, "page": None}, status=400
        )
    items = TaxCertificate.objects.select_related("patient", "taxpayer", "issued_by")
    values = form.cleaned_data if form.is_bound else {}
    if values.get("year"):
        items = items.filter(tax_year=values["year"])
    if condition := search_condition(values.get("q") or ""):
        items = items.filter(patient__in=Patient.objects.filter(condition))
    if fmt := export_requested(request):
        return export_response(
            fmt=fmt,
            filename="tax-certificates",
            headers=[
                _("Number"),
                _("Tax year"),
                _("Patient"),
                _("Taxpayer"),
                _("Service code 1"),
                _("Service code 2"),
                _("Issued"),
                _("Issued by"),
            ],
            rows=(
                [
                    c.display_number,
                    c.tax_year,
                    c.patient.full_name,
                    c.details.get("taxpayer", {}).get("name", ""),
                    c.amount_ordinary,
                    c.amount_expensive,
                    timezone.localtime(c.issued_at).date(),
                    str(c.issued_by or ""),
                ]
                for c in items.iterator(chunk_size=500)
            ),
        )
    return render(
        request,
        "billing/certificates.html",
        {
            "form": form,
            "page": paginate(request, items),
            "query_string": query_without_page(request),
        },
    )


@require_http_methods(["GET", "POST"])
@module_required("billing", "change")
def certificate_new(request: AuthedRequest, pk: int) -> HttpResponseBase:
    """The card's "Tax certificate" dialog: choose the year and the taxpayer, see the sums,
    issue. The sums shown are read again when issuing."""
    patient = _patient(pk)
    today = timezone.localdate()
    form = CertificateForm(request.POST or request.GET or None, patient=patient, today=today)
    amounts = None
    status = 200
    if form.is_bound and form.is_valid():
        amounts = certificates.paid_in_year(patient, form.cleaned_data["year"])
        if request.method == "POST":
            try:
                certificate = certificates.certificate_issue(
                    patient=patient,
                    year=form.cleaned_data["year"],
                    taxpayer=form.cleaned_data["taxpayer"],
                    by=request.user,
                    today=today,
                )
            except ValidationError as error:
                form.add_error(None, error)
                status = 422
            else:
                return redirect("billing:certificate-done", pk=certificate.pk)
    elif form.is_bound:
        status = 400
    previous = TaxCertificate.objects.filter(patient=patient).order_by("-issued_at")[:10]
    return render(
        request,
        "billing/certificate_form.html",
        {"patient": patient, "form": form, "amounts": amounts, "previous": previous},
        status=status,
    )


@require_GET
@module_required("billing", "view")
def certificate_done(request: AuthedRequest, pk: int) -> HttpResponse:
    certificate = get_object_or_404(TaxCertificate.objects.select_related("patient"), pk=pk)
    return render(request, "billing/certificate_done.html", {"certificate": certificate})


@require_POST
@module_required("billing", "change")
def certificate_correct(request: AuthedRequest, pk: int) -> HttpResponseBase:
    certificate = get_object_or_404(TaxCertificate, pk=pk)
    try:
        corrected = certificates.certificate_correct(certificate=certificate, by=request.user)
    except ValidationError as error:
        return render(
            request,
            "billing/certificate_done.html",
            {"certificate": certificate, "errors": error.messages},
            status=422,
        )
    return redirect("billing:certificate-done", pk=corrected.pk)


@require_GET
@module_required("billing", "view")
def certificate_pdf(request: AuthedRequest, pk: int) -> HttpResponse:
    certificate = get_object_or_404(TaxCertificate.objects.select_related("patient"), pk=pk)
    context = build_context(
        certificate.patient, user=request.user, subjects={"certificate": certificate}
    )
    piece = rendering.layout_piece("tax_certificate", certificate, context)
    pdf = rendering.render([piece], context.organization)[0].pdf
    return pdf_response(pdf, f"{piece.title}.pdf")


@require_GET
@module_required("billing", "view")
def income_report(request: AuthedRequest) -> HttpResponseBase:
    """A month's income by doctor for a branch."""
    branch = getattr(request, "branch", None) or visible_branches(request.user).first()
    data = request.GET.copy()
    if "branch" not in data and branch is not None:
        data["branch"] = str(branch.pk)
    if "month" not in data:
        data["month"] = timezone.localdate().strftime("%Y-%m")
    form = IncomeFilter(data, user=request.user)
    if not form.is_valid():
        return render(request, "billing/income.html", {"form": form, "rows": None}, status=400)
    rows = income.income_by_doctor(form.cleaned_data["branch"], form.cleaned_data["month"])
    if fmt := export_requested(request):
        return export_response(
            fmt=fmt,
            filename=f"income-{form.cleaned_data['month']:%Y-%m}",
            headers=[_("Doctor"), _("Invoiced"), _("Paid")],
            rows=([str(row.doctor or "—"), row.invoiced, row.paid] for row in rows),
        )
    return render(
        request,
        "billing/income.html",
        {
            "form": form,
            "rows": rows,
            "invoiced": sum((row.invoiced for row in rows), income.ZERO),
            "paid": sum((row.paid for row in rows), income.ZERO),
        },
    )
