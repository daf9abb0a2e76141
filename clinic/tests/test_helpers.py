"""The small shared helpers: money, phones, time zones, numbering, identifiers, lists."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import RequestFactory

from clinic import lists, numbering, validators
from clinic.money import round_money
from clinic.phones import format_phone, normalize_phone, phone_digits
from clinic.tz import combine, local_day_bounds, local_now

# --- Money -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("2.345"), Decimal("2.35")),
        (Decimal("2.344"), Decimal("2.34")),
        (Decimal("0.005"), Decimal("0.01")),
        (Decimal("-2.345"), Decimal("-2.35")),
        ("10.125", Decimal("10.13")),
        (7, Decimal("7.00")),
        (Decimal("1E+3"), Decimal("1000.00")),
    ],
)
def test_money_rounds_half_up_to_kopecks(value, expected):
    result = round_money(value)
    assert result == expected
    assert result.as_tuple().exponent == -2


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        round_money(0.1)


# --- Phones ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+7 (912) 345-67-89", "+79123456789"),
        ("89123456789", "+79123456789"),
        ("8 912 345 67 89", "+79123456789"),
        ("7 912 345 67 89", "+79123456789"),
        ("9123456789", "+79123456789"),
        ("+375 29 123-45-67", "+375291234567"),
        ("  +7 495 123 45 67 ", "+74951234567"),
        ("", ""),
    ],
)
def test_phones_are_normalised_to_e164(typed, stored):
    assert normalize_phone(typed) == stored


@pytest.mark.parametrize("garbage", ["not a phone", "+", "12", "+7 912 345-67-89-00-00"])
def test_garbage_is_not_a_phone(garbage):
    with pytest.raises(ValidationError):
        normalize_phone(garbage)


@pytest.mark.parametrize("impossible", ["+7 000 000-00-00", "8 000 000 00 00", "+375 00 000-00-00"])
def test_numbers_that_cannot_exist_are_refused(impossible):
    with pytest.raises(ValidationError) as error:
        normalize_phone(impossible)
    assert error.value.params == {"value": impossible}


def test_stored_phones_are_shown_the_international_way():
    assert format_phone("+79123456789") == "+7 912 345-67-89"
    assert format_phone("") == ""
    assert format_phone("garbage") == "garbage"


@pytest.mark.parametrize(
    ("fragment", "digits"),
    [
        ("+7 (912) 345-67-89", "9123456789"),
        ("89123456789", "9123456789"),
        ("345-67", "34567"),
        ("+375291234567", "375291234567"),
        ("", ""),
    ],
)
def test_phone_digits_drop_the_russian_trunk_prefix_of_full_numbers(fragment, digits):
    assert phone_digits(fragment) == digits


# --- Time zones --------------------------------------------------------------------------


def test_a_day_in_yekaterinburg_starts_five_hours_before_utc_midnight():
    start, end = local_day_bounds(datetime.date(2026, 3, 10), "Asia/Yekaterinburg")
    utc = datetime.UTC
    assert start.astimezone(utc) == datetime.datetime(2026, 3, 9, 19, tzinfo=utc)
    assert end.astimezone(utc) == datetime.datetime(2026, 3, 10, 19, tzinfo=utc)
    assert end - start == datetime.timedelta(days=1)


def test_day_bounds_accept_a_zone_object_and_cover_a_dst_day():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    start, end = local_day_bounds(datetime.date(2026, 3, 29), berlin)  # clocks go forward
    # Same-zone subtraction is wall-clock time in Python; the real length shows in UTC.
    assert end.astimezone(datetime.UTC) - start.astimezone(datetime.UTC) == datetime.timedelta(
        hours=23
    )


def test_local_now_and_combine_are_aware_and_in_the_zone():
    moment = datetime.datetime(2026, 1, 1, 21, 30, tzinfo=datetime.UTC)
    with time_machine.travel(moment, tick=False):
        now = local_now("Asia/Yekaterinburg")
    assert (now.date(), now.hour, now.minute) == (datetime.date(2026, 1, 2), 2, 30)
    visit = combine(datetime.date(2026, 1, 2), datetime.time(9), "Asia/Yekaterinburg")
    assert visit.astimezone(datetime.UTC) == datetime.datetime(2026, 1, 2, 4, tzinfo=datetime.UTC)


# --- Numbering ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_numbers_run_on_without_gaps_and_a_rolled_back_reservation_is_reused():
    assert numbering.next_number("test-cards") == 1
    assert list(numbering.next_numbers("test-cards", 3)) == [2, 3, 4]
    with pytest.raises(RuntimeError), transaction.atomic():
        assert numbering.next_number("test-cards") == 5
        raise RuntimeError("the card was not saved")
    assert numbering.next_number("test-cards") == 5
    assert numbering.next_number("other-counter") == 1


@pytest.mark.django_db
def test_the_counter_moves_past_numbers_given_by_hand_but_never_back():
    numbering.ensure_at_least("test-cards", 100)
    numbering.ensure_at_least("test-cards", 50)
    assert numbering.next_number("test-cards") == 101
    with pytest.raises(ValueError):
        numbering.next_numbers("test-cards", 0)


# --- Russian identifiers -----------------------------------------------------------------


def test_snils_checksums():
    assert validators.validate_snils("112-233-445 95") == "11223344595"
    assert validators.format_snils("11223344595") == "112-233-445 95"
    with pytest.raises(ValidationError):
        validators.validate_snils("112-233-445 96")
    with pytest.raises(ValidationError):
        validators.validate_snils("123")
    assert validators.validate_snils("001-001-998 00") == "00100199800"  # issued before checksums


def test_inn_checksums():
    assert validators.validate_company_inn("7707083893") == "7707083893"
    with pytest.raises(ValidationError):
        validators.validate_company_inn("7707083894")
    assert validators.validate_person_inn("500100732259") == "500100732259"
    with pytest.raises(ValidationError):
        validators.validate_person_inn("500100732258")
    with pytest.raises(ValidationError):
        validators.validate_person_inn("7707083893")


def test_passport_and_oms_policy_digits():
    assert validators.validate_passport("45 08", "123456") == ("4508", "123456")
    with pytest.raises(ValidationError) as error:
        validators.validate_passport("45", "12345")
    assert set(error.value.error_dict) == {"passport_series", "passport_number"}
    assert validators.validate_oms_policy("1234 5678 9012 3456") == "1234567890123456"
    with pytest.raises(ValidationError):
        validators.validate_oms_policy("123")


# --- Lists -------------------------------------------------------------------------------


@pytest.mark.parametrize(("asked", "given"), [("10", 10), ("1", 5), ("100000", 200), ("x", 25)])
def test_the_page_size_is_clamped(asked, given):
    assert lists.page_size(RequestFactory().get("/", {"per_page": asked})) == given


def test_the_capped_paginator_stops_counting_at_its_cap():
    class Small(lists.CappedPaginator):
        cap = 10

    paginator = Small(list(range(500)), 5)
    assert paginator.count == 11
    assert paginator.capped
    assert not Small(list(range(10)), 5).capped


def test_the_query_string_of_a_list_drops_the_page_and_export():
    request = RequestFactory().get("/", {"q": "иван", "page": "3", "export": "csv"})
    assert lists.query_without_page(request) == "q=%D0%B8%D0%B2%D0%B0%D0%BD"
