import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from billing.models import Discount, DiscountKind, DiscountRecipients

pytestmark = pytest.mark.django_db


def errors_of(**fields) -> dict:
    discount = Discount(name="Проверка", **{"kind": "percent", "value": Decimal(10), **fields})
    with pytest.raises(ValidationError) as caught:
        discount.full_clean()
    return caught.value.message_dict


def test_a_plain_percent_discount_is_valid():
    Discount(name="Всем 10 %", kind=DiscountKind.PERCENT, value=Decimal("10")).full_clean()


@pytest.mark.parametrize("value", ["0", "-5", "100.01", "150"])
def test_a_percent_outside_0_to_100_is_refused(value, settings):
    settings.LANGUAGE_CODE = "en"
    assert errors_of(value=Decimal(value))["value"] == [
        "A percent discount is more than 0 and at most 100."
    ]


def test_100_percent_is_allowed():
    Discount(name="Бесплатно", kind=DiscountKind.PERCENT, value=Decimal("100")).full_clean()


@pytest.mark.parametrize("value", ["0", "-1000", "-0.01"])
def test_a_fixed_amount_must_be_positive(value, settings):
    settings.LANGUAGE_CODE = "en"
    assert errors_of(kind=DiscountKind.AMOUNT, value=Decimal(value))["value"] == [
        "A fixed discount is an amount greater than zero."
    ]


def test_an_amount_over_twelve_digits_is_refused():
    assert "value" in errors_of(kind=DiscountKind.AMOUNT, value=Decimal("12345678901.00"))


def test_a_period_that_ends_before_it_starts_is_refused(settings):
    settings.LANGUAGE_CODE = "en"
    errors = errors_of(valid_from=datetime.date(2026, 5, 2), valid_to=datetime.date(2026, 5, 1))
    assert errors["valid_to"] == ["The period ends before it starts."]


def test_a_one_day_period_is_allowed():
    day = datetime.date(2026, 5, 1)
    Discount(name="Один день", kind="percent", value=5, valid_from=day, valid_to=day).full_clean()


@pytest.mark.parametrize(
    "field,day", [("valid_from", datetime.date(1, 1, 1)), ("valid_to", datetime.date(9999, 12, 31))]
)
def test_years_1_and_9999_are_refused(field, day):
    assert field in errors_of(**{field: day})


def test_an_age_range_needs_an_age(settings):
    settings.LANGUAGE_CODE = "en"
    errors = errors_of(recipients=DiscountRecipients.AGE)
    assert errors["age_from"] == ["Give the youngest age, the oldest or both."]


def test_an_age_range_upside_down_is_refused(settings):
    settings.LANGUAGE_CODE = "en"
    errors = errors_of(recipients=DiscountRecipients.AGE, age_from=60, age_to=18)
    assert errors["age_to"] == ["The oldest age is less than the youngest."]


def test_an_age_past_150_is_refused():
    assert "age_to" in errors_of(recipients=DiscountRecipients.AGE, age_from=1, age_to=151)


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "percent", "value": Decimal("150")},
        {"kind": "amount", "value": Decimal("-1")},
        {"valid_from": datetime.date(2026, 2, 1), "valid_to": datetime.date(2026, 1, 1)},
        {"age_from": 70, "age_to": 60},
    ],
)
def test_the_database_refuses_what_clean_refuses(fields):
    data = {"name": "Обход", "kind": "percent", "value": Decimal("10"), **fields}
    with pytest.raises(IntegrityError), transaction.atomic():
        Discount.objects.create(**data)
