"""Money is Decimal with two places, rounded half up, never float."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def round_money(value: Decimal | int | str) -> Decimal:
    if isinstance(value, float):
        raise TypeError("Money never goes through float; pass a Decimal or a string.")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
