"""The cash desk day: per branch and day, what came in by each payment method, what went
out (refunds, withdrawals, payments rolled back), and each cashier's closing total.

Read from the ledger's till entries (those with a method: deposit moves to an invoice carry
none), over the day's bounds in the branch's zone: one index range (branch, created_at).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, Sum

from billing.models import LedgerEntry
from clinic.models import Branch
from clinic.tz import local_day_bounds

ZERO = Decimal("0.00")
IN = Sum("amount", filter=Q(amount__gt=0), default=ZERO)
OUT = Sum("amount", filter=Q(amount__lt=0), default=ZERO)
# A busy branch has a few hundred operations a day; the list shows at most this many.
OPERATIONS_SHOWN = 500


@dataclass(frozen=True)
class Row:
    label: str
    came_in: Decimal
    went_out: Decimal

    @property
    def net(self) -> Decimal:
        return self.came_in - self.went_out


@dataclass
class CashDay:
    branch: Branch
    day: datetime.date
    by_method: list[Row] = field(default_factory=list)
    by_cashier: list[Row] = field(default_factory=list)
    operations: list[LedgerEntry] = field(default_factory=list)
    more_operations: bool = False

    @property
    def came_in(self) -> Decimal:
        return sum((row.came_in for row in self.by_method), ZERO)

    @property
    def went_out(self) -> Decimal:
        return sum((row.went_out for row in self.by_method), ZERO)

    @property
    def net(self) -> Decimal:
        return self.came_in - self.went_out


def till_entries(branch: Branch, day: datetime.date):
    start, end = local_day_bounds(day, branch.zone)
    return LedgerEntry.objects.filter(
        branch=branch, created_at__gte=start, created_at__lt=end, method__isnull=False
    )


def cash_day(branch: Branch, day: datetime.date) -> CashDay:
    """Three queries: by method, by cashier, and the day's operations."""
    entries = till_entries(branch, day)
    result = CashDay(branch, day)
    for row in (
        entries.values("method__name", "method__position")
        .annotate(came_in=IN, went_out=OUT)
        .order_by("method__position", "method__name")
    ):
        result.by_method.append(Row(row["method__name"], row["came_in"], -row["went_out"]))
    for row in (
        entries.values("created_by__username", "created_by__first_name", "created_by__last_name")
        .annotate(came_in=IN, went_out=OUT)
        .order_by("created_by__last_name", "created_by__username")
    ):
        name = " ".join(
            part for part in (row["created_by__last_name"], row["created_by__first_name"]) if part
        )
        result.by_cashier.append(
            Row(name or row["created_by__username"] or "—", row["came_in"], -row["went_out"])
        )
    operations = list(
        entries.select_related("patient", "method", "created_by", "invoice").order_by(
            "created_at", "pk"
        )[: OPERATIONS_SHOWN + 1]
    )
    result.more_operations = len(operations) > OPERATIONS_SHOWN
    result.operations = operations[:OPERATIONS_SHOWN]
    return result
