"""The placeholders a template's text may hold (``{{fio}}``), from one registry.

Apps add theirs in their ``registrations.py`` (the visit's: ``calendar_app/documents.py``;
the treatment plan's: ``clinical/plan_documents.py``); a group is a row of buttons above the
editor:

    from documents import placeholders
    from documents.placeholders import Group, Placeholder

    placeholders.register_group(Group("plan", "План лечения", "Treatment plan", order=80))
    placeholders.register(Placeholder(
        "plan_total", "plan", "Сумма плана", "Plan total",
        description=_("The total of the plan's services: 21 000,00."),
        value=plan_total,  # reads ctx.subject("plan"); "" when no plan is chosen
        sample="21 000,00",
    ))

``value`` gets the ``documents.context.DocumentContext`` and returns text (escaped when it
is printed), a ``SafeString`` built by code (a table of services), or "" / None when there
is nothing to print: the document shows a line to fill by hand, and the preview says so.

Substitution evaluates nothing: a regular expression finds ``{{ key }}``, and only keys of
this registry are replaced. A text with a key the registry does not know is refused when
the template is saved, naming it.
"""

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.functional import Promise
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from documents.context import DocumentContext

KEY = re.compile(r"[a-z][a-z0-9_]{0,59}")
PLACEHOLDER = re.compile(r"\{\{\s*([a-z][a-z0-9_]{0,59})\s*\}\}")
# What a person typed between double braces, with any tags an editor put inside it
# ("{{<b>fio</b>}}"); normalised to ``{{fio}}`` on save, or refused.
BRACED = re.compile(r"\{\{((?:[^{}<>]|<[^<>]*>){0,300}?)\}\}")
TAG = re.compile(r"<[^<>]*>")
# A value-less placeholder prints as a line to fill in by hand.
BLANK_LINE = "_" * 20


def _in_language(russian: str, english: str) -> str:
    return english if (get_language() or "ru").startswith("en") else russian


@dataclass(frozen=True)
class Group:
    key: str
    label_ru: str
    label_en: str
    order: int = 100

    @property
    def label(self) -> str:
        return _in_language(self.label_ru, self.label_en)


@dataclass(frozen=True)
class Placeholder:
    key: str
    group: str
    label_ru: str
    label_en: str
    description: Promise | str
    value: Callable[["DocumentContext"], Any]
    # What it prints for the sample patient of a template's preview.
    sample: str = ""
    # The value is HTML built by code (a table), not text to escape.
    is_html: bool = False

    @property
    def label(self) -> str:
        return _in_language(self.label_ru, self.label_en)

    @property
    def token(self) -> str:
        return "{{" + self.key + "}}"


_groups: dict[str, Group] = {}
_placeholders: dict[str, Placeholder] = {}


def amounts_table(
    columns: list[tuple[str, bool]], rows: Iterable[Iterable[Any]], total: str
) -> SafeString:
    """A table of services for a placeholder's value: ``columns`` are (heading, whether it
    holds amounts, aligned right), each row gives its cells in that order, and the last line
    is "Total" with ``total`` under the last column."""
    amount = mark_safe(' class="doc-amount"')
    kinds = [amount if is_amount else "" for _heading, is_amount in columns]
    head = format_html_join("", "<th{}>{}</th>", zip(kinds, (h for h, _a in columns), strict=True))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td{}>{}</td>", zip(kinds, row, strict=True)),) for row in rows),
    )
    return format_html(
        '<table class="doc-services"><thead><tr>{}</tr></thead><tbody>{}</tbody>'
        '<tfoot><tr><th colspan="{}">{}</th><th class="doc-amount">{}</th></tr></tfoot>'
        "</table>",
        head,
        body,
        len(columns) - 1,
        _("Total"),
        total,
    )


def register_group(group: Group) -> Group:
    _groups[group.key] = group
    return group


def register(placeholder: Placeholder) -> Placeholder:
    if not KEY.fullmatch(placeholder.key):
        raise ImproperlyConfigured(f"Placeholder {placeholder.key!r}: a-z, digits and _ only.")
    if placeholder.group not in _groups:
        raise ImproperlyConfigured(
            f"Placeholder {placeholder.key!r}: register its group {placeholder.group!r} first."
        )
    existing = _placeholders.get(placeholder.key)
    if existing is not None and existing != placeholder:
        raise ImproperlyConfigured(f"Placeholder {placeholder.key!r} is registered twice.")
    _placeholders[placeholder.key] = placeholder
    return placeholder


def get(key: str) -> Placeholder | None:
    return _placeholders.get(key)


def all_placeholders() -> list[Placeholder]:
    return list(_placeholders.values())


def grouped() -> list[tuple[Group, list[Placeholder]]]:
    """The editor's rows of buttons: groups in order, placeholders as registered."""
    rows = []
    for group in sorted(_groups.values(), key=lambda g: (g.order, g.key)):
        members = [p for p in _placeholders.values() if p.group == group.key]
        if members:
            rows.append((group, members))
    return rows


# --- Checking a text on save -------------------------------------------------------------


def _braced_text(inner: str) -> str:
    """The text a person sees between the braces: tags dropped, entities read, spaces gone."""
    return html.unescape(TAG.sub("", inner)).strip().replace("\u00a0", "")


def normalize(body: str) -> str:
    """``body`` with every placeholder written as ``{{key}}``; a ValidationError naming the
    placeholders the registry does not know."""
    unknown: list[str] = []

    def replace(match: re.Match) -> str:
        key = _braced_text(match.group(1))
        if key in _placeholders:
            return "{{" + key + "}}"
        if key not in unknown:
            unknown.append(key)
        return match.group(0)

    normalized = BRACED.sub(replace, body)
    if unknown:
        names = ", ".join("{{" + key + "}}" for key in unknown)
        raise ValidationError(
            ngettext(
                "Unknown placeholder %(names)s: use the buttons above the text.",
                "Unknown placeholders %(names)s: use the buttons above the text.",
                len(unknown),
            )
            % {"names": names},
            code="unknown_placeholder",
        )
    return normalized


def used_in(body: str) -> list[Placeholder]:
    """The registry's placeholders a text holds, in order of first appearance."""
    seen: dict[str, Placeholder] = {}
    for key in PLACEHOLDER.findall(body):
        if key in _placeholders and key not in seen:
            seen[key] = _placeholders[key]
    return list(seen.values())


# --- Filling a text --------------------------------------------------------------------


@dataclass(frozen=True)
class Filled:
    html: SafeString
    missing: list[Placeholder]


def value_of(placeholder: Placeholder, context: "DocumentContext") -> SafeString | None:
    """The placeholder's printed value, escaped; None when it has none. Computed once per
    context (a pack prints the patient's name in every document). A sample context (a
    template's preview) prints the placeholder's sample where it has one."""
    if placeholder.key in context.values:
        return context.values[placeholder.key]
    if context.use_samples and placeholder.sample:
        raw: Any = placeholder.sample
    else:
        raw = placeholder.value(context)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        result = None
    elif placeholder.is_html:
        result = mark_safe(str(raw))  # noqa: S308  (built by code from escaped parts)
    else:
        result = conditional_escape(str(raw))
    context.values[placeholder.key] = result
    return result


def fill(body: str, context: "DocumentContext", *, mark_missing: bool = False) -> Filled:
    """``body`` (sanitised HTML) with each known ``{{key}}`` replaced by its escaped value.

    A placeholder without a value becomes a line to fill by hand; with ``mark_missing``
    (the preview) it is also marked, so that the screen can flag it. A key the registry no
    longer knows is left as it is."""
    missing: dict[str, Placeholder] = {}

    def replace(match: re.Match) -> str:
        placeholder = _placeholders.get(match.group(1))
        if placeholder is None:
            return match.group(0)
        value = value_of(placeholder, context)
        if value is not None:
            return value
        missing.setdefault(placeholder.key, placeholder)
        if mark_missing:
            return format_html(
                '<span class="doc-blank doc-missing" data-missing="{}" title="{}">{}</span>',
                placeholder.key,
                placeholder.label,
                BLANK_LINE,
            )
        return f'<span class="doc-blank">{BLANK_LINE}</span>'

    filled = PLACEHOLDER.sub(replace, body)
    return Filled(mark_safe(filled), list(missing.values()))  # noqa: S308  (sanitised on save)


def labels(placeholders: Iterable[Placeholder]) -> list[str]:
    return [p.label for p in placeholders]
