from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from clinical.selectors import ToothOnChart

register = template.Library()


@register.simple_tag
def chart_tooth(tooth: ToothOnChart, can_change: bool, selected) -> SafeString:
    """One tooth of the dental chart: its checkbox, number and drawing. Written here, not in
    the template: the template's tags cost some 100 µs a tooth, and a chart has 32 to 52."""
    number, jaw, state = tooth.number, tooth.jaw, tooth.state
    classes = "dental-tooth"
    if state:
        classes += f" dental-state-{escape(state)}"
    if tooth.records:
        classes += " dental-has-records"
    title = str(number)
    if tooth.state_label:
        title += f" · {tooth.state_label}"
    if codes := tooth.codes:
        title += f" · {codes}"
    checked = can_change and str(number) in selected
    box_state = " disabled" if not can_change else " checked" if checked else ""
    label = f'<span class="dental-number">{number}</span>'
    return mark_safe(  # noqa: S308 - every value above is escaped or a number
        f'<label class="{classes}" data-tooth="{number}" data-jaw="{jaw}"'
        f' data-state="{escape(state)}" title="{escape(title)}">'
        f'<input type="checkbox" class="dental-check" name="teeth" value="{number}"'
        f' data-jaw="{jaw}"{box_state}>'
        f"{label if jaw == 'upper' else ''}{tooth.drawing}{label if jaw == 'lower' else ''}"
        "</label>"
    )
