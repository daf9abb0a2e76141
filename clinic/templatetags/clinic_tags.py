from django import template
from django.utils.safestring import SafeString, mark_safe

from clinic.forms import QuickSelect

register = template.Library()


@register.simple_tag
def options(choices, selected=None) -> SafeString:
    """The ``<option>``s of ``(value, label)`` pairs, the one equal to ``selected`` marked:
    written in Python as ``QuickSelect`` writes its own (a template loop costs some 10 µs an
    option, and a price list has hundreds)."""
    wanted = set() if selected in (None, "") else {str(selected)}
    return mark_safe(  # noqa: S308 - QuickSelect._option escapes value and label
        "".join(QuickSelect._option(value, label, wanted) for value, label in choices)
    )
