"""Checksums of Russian personal and company identifiers."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def digits_only(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def snils_check_digits(first_nine: str) -> str:
    total = sum(
        int(digit) * weight for digit, weight in zip(first_nine, range(9, 0, -1), strict=True)
    )
    if total < 100:
        control = total
    elif total in (100, 101):
        control = 0
    else:
        control = total % 101
        control = 0 if control == 100 else control
    return f"{control:02d}"


def validate_snils(value: str) -> str:
    """SNILS: 11 digits, the last two a checksum of the first nine. Returns the digits."""
    digits = digits_only(value)
    if len(digits) != 11:
        raise ValidationError(_("SNILS has 11 digits, like 112-233-445 95."))
    # Numbers up to 001-001-998 were issued before checksums existed.
    if int(digits[:9]) > 1001998 and snils_check_digits(digits[:9]) != digits[9:]:
        raise ValidationError(_("This SNILS has a wrong check number; please check the digits."))
    return digits


def format_snils(digits: str) -> str:
    if len(digits) != 11:
        return digits
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:]}"


_INN_WEIGHTS_10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _inn_digit(digits: str, weights: tuple[int, ...]) -> str:
    return str(sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10)


def inn_is_valid(digits: str) -> bool:
    if len(digits) == 10:
        return _inn_digit(digits, _INN_WEIGHTS_10) == digits[9]
    if len(digits) == 12:
        return (
            _inn_digit(digits, _INN_WEIGHTS_11) == digits[10]
            and _inn_digit(digits, _INN_WEIGHTS_12) == digits[11]
        )
    return False


def validate_person_inn(value: str) -> str:
    """A person's INN: 12 digits with two check digits. Returns the digits."""
    digits = digits_only(value)
    if len(digits) != 12:
        raise ValidationError(_("A person's INN has 12 digits."))
    if not inn_is_valid(digits):
        raise ValidationError(_("This INN has a wrong check number; please check the digits."))
    return digits


def validate_company_inn(value: str) -> str:
    digits = digits_only(value)
    if len(digits) not in (10, 12) or not inn_is_valid(digits):
        raise ValidationError(
            _("Not a valid INN (10 digits for a company, 12 for an entrepreneur).")
        )
    return digits


def validate_oms_policy(value: str) -> str:
    """A compulsory medical insurance policy: the single 16-digit number since 2011."""
    digits = digits_only(value)
    if len(digits) != 16:
        raise ValidationError(_("An OMS policy number has 16 digits."))
    return digits


def validate_passport(series: str, number: str) -> tuple[str, str]:
    series_digits, number_digits = digits_only(series), digits_only(number)
    errors = {}
    if len(series_digits) != 4:
        errors["passport_series"] = _("A passport series has 4 digits.")
    if len(number_digits) != 6:
        errors["passport_number"] = _("A passport number has 6 digits.")
    if errors:
        raise ValidationError(errors)
    return series_digits, number_digits
