"""Where an invoice line's discount is decided: the hook for the discounts engine.

Today a line's discount is what the cashier typed (a percent or an amount). The discounts
module (``Discount`` rows and the best-discount picker, built separately) plugs in here
through ``LineInput.chosen_discount``, which is either

- what its engine computed for this line (``billing.discounts.AppliedDiscount``: ``amount``,
  ``discount_id``, ``name``), e.g. ``best_discount(...).lines[i]``; or
- a discount object with ``pk``, ``__str__`` and ``amount_off(amount) -> Decimal``.

The id is stored on the line as ``discount_ref`` (for the discounts report), the name as its
``discount_label``.

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
    if chosen is None:
        return NONE
    if callable(getattr(chosen, "amount_off", None)):
        off, label, ref = chosen.amount_off(amount), str(chosen), chosen.pk
    else:  # an engine's result for this line
        off, label, ref = chosen.amount, chosen.name, chosen.discount_id
    off = min(max(round_money(off), ZERO), amount)
    return LineDiscount(off, label[:200], ref) if off else NONE
