"""Money is Decimal with two places, rounded half up, never float."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def round_money(value: Decimal | int | str) -> Decimal:
    if isinstance(value, float):
        raise TypeError("Money never goes through float; pass a Decimal or a string.")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(value: Decimal | int | str) -> str:
    """12 500,00: the way amounts are printed in Russian documents (a no-break space
    between thousands, a comma before the kopecks)."""
    amount = round_money(value)
    whole, cents = f"{abs(amount):.2f}".split(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return ("-" if amount < 0 else "") + "\u00a0".join(groups) + "," + cents
