from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from clinical.selectors import ChartLine, ToothOnChart

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


@register.simple_tag
def chart_list_rows(
    by_tooth: list[tuple[int, list[ChartLine]]], can_change: bool, dentition: str
) -> SafeString:
    """The rows of the list under the chart, a tooth's records grouped under its number.
    Written here for the reason ``chart_tooth`` is: a long history lists dozens."""
    confirm = escape(_("Remove this diagnosis from the chart?"))
    # The remove button around each record's URL.
    before_url = (
        '<td class="text-end"><button type="button" class="btn btn-sm btn-outline-danger" hx-post="'
    )
    after_url = (
        f'" hx-vals=\'{{"dentition": "{escape(dentition)}"}}\' hx-target="#dental-chart"'
        f' hx-swap="outerHTML" hx-confirm="{confirm}" aria-label="{escape(_("Remove"))}"'
        ' data-record-remove><i class="bi bi-x-lg"></i></button></td>'
    )
    rows = []
    for number, lines in by_tooth:
        for index, line in enumerate(lines):
            head = f'<th rowspan="{len(lines)}" scope="rowgroup">{number}</th>' if not index else ""
            diagnosis = (
                f'<span class="fw-semibold" data-record-code>{escape(line.code)}</span> '
                f"{escape(line.name)}"
                if line.code
                else "—"
            )
            state = (
                f'<span class="dental-swatch dental-state-{escape(line.state)}"></span> '
                f"{escape(line.state_label)}"
                if line.state
                else "—"
            )
            remove = f"{before_url}{escape(line.remove_url)}{after_url}" if can_change else ""
            rows.append(
                f'<tr data-record="{line.pk}" data-record-tooth="{number}">{head}'
                f"<td>{diagnosis}</td><td>{state}</td><td>{escape(line.surfaces) or '—'}</td>"
                f'<td class="text-nowrap small text-secondary">{escape(line.recorded)}</td>'
                f"{remove}</tr>"
            )
    return mark_safe("".join(rows))  # noqa: S308 - every value above is escaped or a number
