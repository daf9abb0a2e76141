"""The payment methods the clinic starts with (migration 0004 adds them to a new database;
the demo and the tests after a flush call ``ensure_payment_methods``)."""

from billing.models import PaymentKind, PaymentMethod

DEFAULT_METHODS = [
    ("Наличные", PaymentKind.CASH),
    ("Банковская карта", PaymentKind.CARD),
    ("Безналичный перевод", PaymentKind.TRANSFER),
]


def ensure_payment_methods() -> None:
    if PaymentMethod.all_objects.exists():
        return
    for position, (name, kind) in enumerate(DEFAULT_METHODS, start=1):
        PaymentMethod.objects.create(name=name, kind=kind, position=position)


def method_of_kind(kind: str) -> PaymentMethod:
    ensure_payment_methods()
    return (
        PaymentMethod.objects.filter(kind=kind).order_by("position", "pk").first()
        or (PaymentMethod.objects.order_by("position", "pk")[0])
    )
