from django import template

from clinic.money import format_money

register = template.Library()


@register.filter
def price(value) -> str:
    """12 500,00 (``clinic.money.format_money``); empty for no value."""
    if value is None or value == "":
        return ""
    return format_money(value)
