"""Phone numbers are stored in E.164 (+79123456789); Russia is the default region."""

import functools
import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

DEFAULT_REGION = "RU"


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """E.164 form of a phone typed any way; ValidationError when it is not a valid number."""
    text = (raw or "").strip()
    if not text:
        return ""
    digits = re.sub(r"\D", "", text)
    # Russian habit: 8 as the trunk prefix of an 11-digit number (8 912 345-67-89).
    if region == "RU" and not text.startswith("+") and len(digits) == 11 and digits[0] in "78":
        text = "+7" + digits[1:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Not a phone number: %(value)s"), params={"value": raw}) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("This phone number does not exist: %(value)s"), params={"value": raw}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Parsing is the slow part and lists show the same numbers again and again.
@functools.lru_cache(maxsize=20_000)
def format_phone(e164: str) -> str:
    """The national way of writing a stored number, for display: +7 912 345-67-89."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_digits(raw: str) -> str:
    """Digits of a search fragment, without a leading 8/7 trunk prefix of a full number."""
    digits = re.sub(r"\D", "", raw or "")
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]
    return digits
