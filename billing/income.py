"""A month's income by doctor for a branch: what each doctor's services were invoiced for
(lines of the invoices issued in the month) and what was paid for them (the money that
reached the branch's invoices in the month, each invoice's payments shared among its lines in
proportion to their totals, so a doctor's share of a partly paid invoice is partial too).

Two grouped queries over index ranges (invoices by branch and issue time, the ledger by
branch and time), whatever the number of doctors.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

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


INVOICED = """
SELECT l.doctor_id, sum(l.total)
FROM billing_invoice i JOIN billing_invoiceline l ON l.invoice_id = i.id
WHERE i.branch_id = %s AND i.issued_at >= %s AND i.issued_at < %s AND i.status = 'issued'
GROUP BY l.doctor_id
"""

PAID = """
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


def income_by_doctor(branch: Branch, month: datetime.date) -> list[DoctorIncome]:
    start, end = month_bounds(branch, month)
    with connection.cursor() as cursor:
        cursor.execute(INVOICED, [branch.pk, start, end])
        invoiced = dict(cursor.fetchall())
        cursor.execute(PAID, [branch.pk, start, end])
        paid = dict(cursor.fetchall())
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
