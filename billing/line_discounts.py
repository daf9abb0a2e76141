"""Where an invoice line's discount is decided: the hook for the discounts engine.

Today a line's discount is what the cashier typed (a percent or an amount). The discounts
module (``Discount`` rows and the best-discount picker, built separately) plugs in here: it
passes the discount it chose as ``chosen``, an object with

- ``pk``: stored on the line as ``discount_ref`` (for the discounts report),
- ``__str__``: stored as the line's ``discount_label``,
- ``amount_off(amount: Decimal) -> Decimal``: how much comes off the line's amount.

A typed discount wins over a chosen one; the result is always rounded to kopecks and never
more than the line's amount.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billing.amounts import ZERO, DiscountAsked
from clinic.money import round_money


@dataclass(frozen=True)
class LineDiscount:
    amount: Decimal
    label: str = ""
    ref: int | None = None


NONE = LineDiscount(ZERO)


def decide_line_discount(
    *, amount: Decimal, asked: DiscountAsked | None = None, chosen: Any = None, patient=None
) -> LineDiscount:
    """The discount on a line whose amount (price × quantity) is ``amount``."""
    if asked is not None and not asked.is_empty:
        return LineDiscount(asked.off(amount), asked.label())
    if chosen is not None:
        off = min(max(round_money(chosen.amount_off(amount)), ZERO), amount)
        return LineDiscount(off, str(chosen)[:200], chosen.pk)
    return NONE
