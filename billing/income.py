"""A month's income by doctor for a branch: what each doctor's services were invoiced for
(lines of the invoices issued in the month) and what was paid for them (the money that
reached the branch's invoices in the month, each invoice's payments shared among its lines in
proportion to their totals, so a doctor's share of a partly paid invoice is partial too).

Grouped queries over index ranges (invoices by branch and issue time, the ledger by branch
and time), whatever the number of doctors; a month of a 20-chair branch is a few thousand
lines to share out.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Sum

from billing.models import InvoiceLine, InvoiceStatus, LedgerEntry
from clinic.models import Branch, Employee
from clinic.money import round_money
from clinic.tz import local_day_bounds

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class DoctorIncome:
    doctor: Employee | None
    invoiced: Decimal
    paid: Decimal


def month_bounds(
    branch: Branch, month: datetime.date
) -> tuple[datetime.datetime, datetime.datetime]:
    first = month.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return local_day_bounds(first, branch.zone)[0], local_day_bounds(following, branch.zone)[0]


PAID_BY_DOCTOR = """
WITH paid AS (
    SELECT invoice_id, sum(amount) AS amount FROM billing_ledgerentry
    WHERE branch_id = %s AND created_at >= %s AND created_at < %s
      AND payment_id IS NOT NULL AND invoice_id IS NOT NULL
    GROUP BY invoice_id
)
SELECT l.doctor_id, sum(paid.amount * l.total / i.total)
FROM paid JOIN billing_invoice i ON i.id = paid.invoice_id
JOIN billing_invoiceline l ON l.invoice_id = i.id
WHERE i.total > 0
GROUP BY l.doctor_id
"""


def paid_by_doctor_in_sql(
    branch: Branch, start: datetime.datetime, end: datetime.datetime
) -> dict[int | None, Decimal]:
    """PostgreSQL shares the payments out in exact numeric arithmetic (Decimal back): one
    query over the month's range of the ledger."""
    with connection.cursor() as cursor:
        cursor.execute(PAID_BY_DOCTOR, [branch.pk, start, end])
        return dict(cursor.fetchall())


def paid_by_doctor_in_python(
    branch: Branch, start: datetime.datetime, end: datetime.datetime
) -> dict[int | None, Decimal]:
    """The same in Decimal here: SQLite (the quickstart) would divide integers or hand back
    floats. Twice the time at size L, which only PostgreSQL serves."""
    money_in = dict(
        LedgerEntry.objects.filter(
            branch=branch,
            created_at__gte=start,
            created_at__lt=end,
            payment__isnull=False,
            invoice__isnull=False,
        )
        .values("invoice")
        .annotate(amount=Sum("amount"))
        .order_by()
        .values_list("invoice", "amount")
    )
    paid: dict[int | None, Decimal] = {}
    lines = InvoiceLine.objects.filter(invoice_id__in=list(money_in), invoice__total__gt=0)
    for invoice_id, doctor_id, line_total, invoice_total in lines.values_list(
        "invoice", "doctor", "total", "invoice__total"
    ):
        share = money_in[invoice_id] * line_total / invoice_total
        paid[doctor_id] = paid.get(doctor_id, ZERO) + share
    return paid


def income_by_doctor(branch: Branch, month: datetime.date) -> list[DoctorIncome]:
    start, end = month_bounds(branch, month)
    invoiced: dict[int | None, Decimal] = dict(
        InvoiceLine.objects.filter(
            invoice__branch=branch,
            invoice__status=InvoiceStatus.ISSUED,
            invoice__issued_at__gte=start,
            invoice__issued_at__lt=end,
        )
        .values("doctor")
        .annotate(total=Sum("total"))
        .order_by()
        .values_list("doctor", "total")
    )
    if connection.vendor == "postgresql":
        paid = paid_by_doctor_in_sql(branch, start, end)
    else:
        paid = paid_by_doctor_in_python(branch, start, end)
    ids = set(invoiced) | set(paid)
    doctors = Employee.all_objects.in_bulk([pk for pk in ids if pk is not None])
    rows = [
        DoctorIncome(
            doctors.get(pk) if pk is not None else None,
            round_money(invoiced.get(pk) or ZERO),
            round_money(paid.get(pk) or ZERO),
        )
        for pk in ids
    ]
    rows.sort(key=lambda row: (-row.paid, -row.invoiced, str(row.doctor or "")))
    return rows
