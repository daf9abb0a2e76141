"""How a card's document numbers are written for people."""

import re

from django import template

register = template.Library()

ELEVEN_DIGITS = re.compile(r"\d{11}")


@register.filter
def snils(value: str | None) -> str:
    """123-456-789 01, the way SNILS is printed; anything else as it is stored."""
    digits = re.sub(r"[\s-]", "", value or "")
    if not ELEVEN_DIGITS.fullmatch(digits):
        return value or ""
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:]}"
