"""Reads for the Payments tab and the prints: a fixed number of queries whatever the history."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch

from billing import ledger
from billing.models import EntryKind, Invoice, InvoiceLine, InvoiceStatus, LedgerEntry, Payment
from calendar_app.models import Appointment, StatusCode
from clinical.models import PlanStatus, TreatmentPlan
from patients.models import Patient

ZERO = Decimal("0.00")
INVOICES_SHOWN = 20
DEPOSIT_PAYMENTS_SHOWN = 50
MOVEMENTS_SHOWN = 50
# The columns the tab shows (``only``: a long history's rows carry nothing else).
INVOICE_SHOWN = (
    "patient",
    "number",
    "status",
    "note",
    "total",
    "discount_total",
    "created_at",
    "issued_at",
    "rollback_reason",
)
PAYMENT_SHOWN = ("invoice", "amount", "received_at", "rollback_reason", "rolled_back_at")


@dataclass
class InvoiceRow:
    invoice: Invoice
    paid: Decimal
    payments: list[Payment] = field(default_factory=list)

    @property
    def due(self) -> Decimal:
        return self.invoice.total - self.paid if self.invoice.is_issued else ZERO


@dataclass
class PaymentsTab:
    money: ledger.Balance
    invoices: list[InvoiceRow]
    deposit_payments: list[Payment]
    movements: list[LedgerEntry]
    more_invoices: bool
    page: int = 1


def _lines() -> Prefetch:
    return Prefetch(
        "lines", queryset=InvoiceLine.objects.select_related("doctor", "assistant", "service")
    )


NAME = ("last_name", "first_name", "middle_name")


def _tab_lines() -> Prefetch:
    """The tab's lines: what it shows of them, the doctor's and assistant's names."""
    names = [f"{person}__{part}" for person in ("doctor", "assistant") for part in NAME]
    fields = ("invoice", "label", "tooth", "quantity", "price", "discount", "invoice_discount")
    return Prefetch(
        "lines",
        queryset=InvoiceLine.objects.select_related("doctor", "assistant").only(
            *fields, "discount_label", "total", *names
        ),
    )


def payments_tab(user, patient: Patient, page: int = 1) -> PaymentsTab:
    """The tab's money, one page of invoices (the newest first) with their payments, the
    prepayments and the latest movements: the same number of queries whatever the history."""
    offset = (page - 1) * INVOICES_SHOWN
    # The page's ids first: joined before the limit, a long history's every invoice would
    # be joined to its visit and sorted to show twenty.
    page_ids = (
        Invoice.objects.for_user(user)
        .filter(patient=patient)
        .order_by("-created_at", "-pk")
        .values("pk")[offset : offset + INVOICES_SHOWN + 1]
    )
    invoices = list(
        Invoice.objects.filter(pk__in=page_ids)
        .select_related("branch", "appointment", "plan")
        .only(*INVOICE_SHOWN, "branch__name", "appointment__start", "plan__number")
        .prefetch_related(_tab_lines())
        .order_by("-created_at", "-pk")
    )
    more = len(invoices) > INVOICES_SHOWN
    invoices = invoices[:INVOICES_SHOWN]
    ids = [i.pk for i in invoices]
    paid = ledger.paid_sums(ids)
    by_invoice: dict[int, list[Payment]] = {}
    for payment in (
        Payment.objects.for_user(user)
        .filter(invoice__in=ids)
        .select_related("method")
        .only(*PAYMENT_SHOWN, "method__name")
        .order_by("-received_at", "-pk")
    ):
        by_invoice.setdefault(payment.invoice_id, []).append(payment)  # type: ignore[arg-type]
    rows = [InvoiceRow(i, paid.get(i.pk, ZERO), by_invoice.get(i.pk, [])) for i in invoices]
    deposit_payments = list(
        Payment.objects.for_user(user)
        .filter(patient=patient, invoice__isnull=True)
        .select_related("method")
        .only(*PAYMENT_SHOWN, "method__name")
        .order_by("-received_at", "-pk")[:DEPOSIT_PAYMENTS_SHOWN]
    )
    movements = list(
        LedgerEntry.objects.for_user(user)
        .filter(patient=patient)
        .exclude(kind=EntryKind.INVOICE)
        .select_related("method", "invoice")
        .only("created_at", "kind", "amount", "reason", "method__name", "invoice__number")
        .order_by("-pk")[:MOVEMENTS_SHOWN]
    )
    return PaymentsTab(
        money=ledger.balance_of(patient),
        invoices=rows,
        deposit_payments=deposit_payments,
        movements=movements,
        more_invoices=more,
        page=page,
    )


@dataclass
class InvoiceView:
    invoice: Invoice
    lines: list[InvoiceLine]
    paid: Decimal
    due: Decimal


def invoice_view(invoice: Invoice) -> InvoiceView:
    lines = list(invoice.lines.select_related("service", "doctor", "assistant"))
    paid = ledger.paid_on(invoice)
    due = invoice.total - paid if invoice.is_issued else ZERO
    return InvoiceView(invoice, lines, paid, due)


def billable_visits(user, patient: Patient):
    """The patient's completed visits in the user's branches not billed yet, newest first."""
    billed = Invoice.objects.filter(patient=patient, appointment__isnull=False).exclude(
        status=InvoiceStatus.ROLLED_BACK
    )
    return (
        Appointment.objects.for_user(user)
        .filter(patient=patient, status=StatusCode.COMPLETED)
        .exclude(pk__in=billed.values("appointment"))
        .select_related("doctor", "branch")
        .order_by("-start")[:30]
    )


def billable_plans(user, patient: Patient):
    return (
        TreatmentPlan.objects.for_user(user)
        .filter(patient=patient, status=PlanStatus.APPROVED)
        .select_related("doctor", "branch")
        .order_by("-number")[:30]
    )
