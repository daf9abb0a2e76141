"""Who owes the clinic: the open invoices (issued, with money still due) summed per patient,
with the age of the oldest, the last visit and the phone.

An invoice's ``due`` is rewritten from the ledger by every entry posted for it
(``billing.ledger.refresh_due``), and the open ones have a partial index of their own, so the
list reads the few percent of invoices that are open, never the whole history.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from billing.models import Invoice, InvoiceLine, InvoiceStatus
from patients.models import Patient
from patients.selectors import search_condition

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Debtor:
    patient: Patient
    debt: Decimal
    invoices: int
    oldest: datetime.datetime
    last_visit: datetime.datetime | None
    # Days since the oldest unpaid invoice was issued.
    age_days: int


@dataclass(frozen=True)
class Summary:
    patients: int
    total: Decimal


def open_invoices(
    user, *, branch_id: int | None = None, doctor_id: int | None = None, query: str = ""
):
    """Issued invoices of the user's branches with money still due."""
    invoices = Invoice.objects.for_user(user).filter(status=InvoiceStatus.ISSUED, due__gt=0)
    if branch_id:
        invoices = invoices.filter(branch_id=branch_id)
    if doctor_id:
        invoices = invoices.filter(
            pk__in=InvoiceLine.objects.filter(doctor_id=doctor_id).values("invoice")
        )
    if condition := search_condition(query):
        invoices = invoices.filter(patient__in=Patient.objects.filter(condition).values("pk"))
    return invoices


def per_patient(invoices):
    """One row per debtor, the largest debt first: a queryset to page through."""
    return (
        invoices.values("patient")
        .annotate(debt=Sum("due"), invoices=Count("pk"), oldest=Min("issued_at"))
        .order_by("-debt", "patient")
    )


def summary(invoices) -> Summary:
    row = invoices.aggregate(patients=Count("patient", distinct=True), total=Sum("due"))
    return Summary(row["patients"], row["total"] or ZERO)


def debtors(rows, *, today: datetime.date) -> list[Debtor]:
    """The page's rows with their patients and last visits (two queries)."""
    rows = list(rows)
    ids = [row["patient"] for row in rows]
    patients = Patient.all_objects.in_bulk(ids)  # a deleted card still owes what it owed
    from calendar_app.models import Appointment

    last_visits = dict(
        Appointment.objects.filter(patient_id__in=ids)
        .values("patient")
        .annotate(last=Max("start"))
        .order_by()
        .values_list("patient", "last")
    )
    return [
        Debtor(
            patient=patients[row["patient"]],
            debt=row["debt"],
            invoices=row["invoices"],
            oldest=row["oldest"],
            last_visit=last_visits.get(row["patient"]),
            age_days=(today - timezone.localtime(row["oldest"]).date()).days,
        )
        for row in rows
        if row["patient"] in patients
    ]
