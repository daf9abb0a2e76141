"""Human-facing numbers: card 1, 2, 3... without gaps from rolled-back transactions
being reused by two callers (the counter row is locked until the caller commits)."""

from django.db import transaction

from clinic.models.numbering import NumberSequence


def next_numbers(key: str, count: int = 1) -> range:
    """Reserve ``count`` consecutive numbers; call inside the transaction that uses them."""
    if count < 1:
        raise ValueError("count must be positive")
    with transaction.atomic():
        sequence, _created = NumberSequence.objects.select_for_update().get_or_create(key=key)
        first = sequence.value + 1
        sequence.value += count
        sequence.save(update_fields=["value"])
    return range(first, first + count)


def next_number(key: str) -> int:
    return next_numbers(key, 1)[0]


def ensure_at_least(key: str, value: int) -> None:
    """Move the counter past numbers that were assigned by hand or by an import."""
    with transaction.atomic():
        sequence, _created = NumberSequence.objects.select_for_update().get_or_create(key=key)
        if sequence.value < value:
            sequence.value = value
            sequence.save(update_fields=["value"])
