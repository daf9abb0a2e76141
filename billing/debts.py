"""Who owes the clinic: issued invoices not fully paid, summed per patient, with the age of
the oldest unpaid invoice, the last visit and the phone.

An invoice's paid money is read from the ledger (its entries that carry a payment), so a
debt is always what the ledger says.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, F, Max, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.models import Invoice, InvoiceLine, InvoiceStatus, LedgerEntry
from patients.models import Patient
from patients.selectors import search_condition

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=12, decimal_places=2)


@dataclass(frozen=True)
class Debtor:
    patient: Patient
    debt: Decimal
    invoices: int
    oldest: datetime.datetime
    last_visit: datetime.datetime | None
    # Days since the oldest unpaid invoice was issued.
    age_days: int


def unpaid_invoices(user, *, branch_id: int | None = None, doctor_id: int | None = None):
    """Issued invoices of the user's branches with money still due, each with its ``due``."""
    paid = (
        LedgerEntry.objects.filter(invoice=OuterRef("pk"), payment__isnull=False)
        .values("invoice")
        .annotate(paid=Sum("amount"))
        .values("paid")
    )
    invoices = Invoice.objects.for_user(user).filter(status=InvoiceStatus.ISSUED, total__gt=0)
    if branch_id:
        invoices = invoices.filter(branch_id=branch_id)
    if doctor_id:
        invoices = invoices.filter(
            pk__in=InvoiceLine.objects.filter(doctor_id=doctor_id).values("invoice")
        )
    return invoices.annotate(
        due=F("total")
        - Coalesce(Subquery(paid, output_field=MONEY), Value(ZERO), output_field=MONEY)
    ).filter(due__gt=0)


def debtors(
    user,
    *,
    today: datetime.date,
    branch_id: int | None = None,
    doctor_id: int | None = None,
    query: str = "",
) -> list[Debtor]:
    """Patients with debts, the largest first (two queries: the sums, then the patients and
    their last visits)."""
    rows = {
        row["patient"]: row
        for row in _sums(unpaid_invoices(user, branch_id=branch_id, doctor_id=doctor_id))
    }
    if not rows:
        return []
    patients = Patient.objects.filter(pk__in=rows)
    if condition := search_condition(query):
        patients = patients.filter(condition)
    from calendar_app.models import Appointment

    last_visits = dict(
        Appointment.objects.filter(patient_id__in=rows)
        .values("patient")
        .annotate(last=Max("start"))
        .order_by()
        .values_list("patient", "last")
    )
    result = [
        Debtor(
            patient=patient,
            debt=rows[patient.pk]["debt"],
            invoices=rows[patient.pk]["invoices"],
            oldest=rows[patient.pk]["oldest"],
            last_visit=last_visits.get(patient.pk),
            age_days=(today - timezone.localtime(rows[patient.pk]["oldest"]).date()).days,
        )
        for patient in patients
    ]
    result.sort(key=lambda debtor: (-debtor.debt, debtor.patient.pk))
    return result


def _sums(invoices):
    sums: dict[int, dict] = {}
    for row in invoices.values("patient", "due", "issued_at"):
        entry = sums.setdefault(
            row["patient"],
            {"patient": row["patient"], "debt": ZERO, "invoices": 0, "oldest": row["issued_at"]},
        )
        entry["debt"] += row["due"]
        entry["invoices"] += 1
        entry["oldest"] = min(entry["oldest"], row["issued_at"])
    return sums.values()
