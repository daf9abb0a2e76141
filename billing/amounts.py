"""An invoice's arithmetic: line amounts, discounts and the spreading of a whole-invoice
discount (the rounding rule is in ``billing.models``' docstring). Pure functions on Decimals."""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from clinic.money import round_money

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class DiscountAsked:
    """A discount typed by hand: a percent (0-100) or an amount, not both."""

    percent: Decimal | None = None
    amount: Decimal | None = None

    def __post_init__(self) -> None:
        if self.percent is not None and self.amount is not None:
            raise ValidationError(_("Give the discount as a percent or as an amount, not both."))
        if self.percent is not None and not (0 <= self.percent <= 100):
            raise ValidationError(_("A discount percent is between 0 and 100."))
        if self.amount is not None and self.amount < 0:
            raise ValidationError(_("A discount cannot be negative."))

    @property
    def is_empty(self) -> bool:
        return not self.percent and not self.amount

    def label(self) -> str:
        if self.percent:
            return f"{self.percent.normalize():f}%"
        if self.amount:
            return _("%(amount)s off") % {"amount": round_money(self.amount)}
        return ""

    def off(self, base: Decimal) -> Decimal:
        """How much comes off ``base``, rounded; an amount larger than ``base`` is refused."""
        if self.percent:
            return round_money(base * self.percent / HUNDRED)
        if self.amount:
            amount = round_money(self.amount)
            if amount > base:
                raise ValidationError(
                    _("The discount (%(discount)s) is larger than the amount (%(amount)s).")
                    % {"discount": amount, "amount": base}
                )
            return amount
        return ZERO


def line_amount(price: Decimal, quantity: int) -> Decimal:
    return round_money(price * quantity)


def spread(discount: Decimal, bases: list[Decimal]) -> list[Decimal]:
    """``discount`` shared over ``bases`` in proportion, each share rounded to kopecks, the
    kopecks the rounding leaves on the largest base (the first of equal ones)."""
    total = sum(bases, ZERO)
    if discount <= 0 or total <= 0:
        return [ZERO for _ in bases]
    if discount > total:
        raise ValueError("The discount is larger than what it is spread over.")
    shares = [round_money(discount * base / total) for base in bases]
    largest = max(range(len(bases)), key=lambda i: (bases[i], -i))
    shares[largest] += discount - sum(shares, ZERO)
    if ZERO <= shares[largest] <= bases[largest]:
        return shares
    # Tiny lines and a discount of almost everything: the largest line cannot take the
    # leftover kopecks alone; they go, a kopeck at a time, to the largest lines that can.
    shares[largest] = min(max(shares[largest], ZERO), bases[largest])
    left = discount - sum(shares, ZERO)
    step = CENT if left > 0 else -CENT
    order = sorted(range(len(bases)), key=lambda i: (-bases[i], i))
    while left != 0:
        for i in order:
            if left != 0 and ZERO <= shares[i] + step <= bases[i]:
                shares[i] += step
                left -= step
    return shares
