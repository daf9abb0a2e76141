"""What the calendar gives the documents app (registered from ``registrations``): the visit
a document is printed for, the visits a print dialog offers, and the visit placeholders."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from calendar_app.models import Appointment, StatusCode
from clinic.money import format_money, round_money
from documents import placeholders
from documents.context import DocumentContext, VisitChoice, VisitSource, register_visit_source
from documents.placeholders import Group, Placeholder

# The visits a print dialog offers: a month back and a month ahead, nearest first.
OFFERED_DAYS = 31
OFFERED_AT_MOST = 15


def _visits(user, patient):
    return (
        Appointment.objects.for_user(user)
        .filter(patient=patient)
        .select_related("doctor", "branch", "chair")
    )


def load_visit(visit_id: int, patient, user) -> Appointment | None:
    return (
        _visits(user, patient)
        .prefetch_related("service_lines__service")
        .filter(pk=visit_id)
        .first()
    )


def visit_choices(patient, user) -> list[VisitChoice]:
    now = timezone.now()
    window = datetime.timedelta(days=OFFERED_DAYS)
    visits = list(
        _visits(user, patient)
        .filter(start__gte=now - window, start__lte=now + window)
        .exclude(status=StatusCode.CANCELLED)
        .order_by("start")[:100]
    )
    choices = []
    for visit in sorted(visits, key=lambda v: abs(v.start - now)):
        local = timezone.localtime(visit.start, visit.branch.zone)
        today = local.date() == timezone.localtime(now, visit.branch.zone).date()
        label = f"{local:%d.%m.%Y %H:%M} · {visit.doctor.short_name} · {visit.branch.name}"
        choices.append(VisitChoice(visit.pk, label, today))
    return choices[:OFFERED_AT_MOST]


register_visit_source(
    VisitSource(
        load=load_visit,
        choices=visit_choices,
        doctor_of=lambda visit: visit.doctor,
        branch_of=lambda visit: visit.branch,
    )
)


# --- Placeholders ----------------------------------------------------------------------


def _local_start(ctx: DocumentContext) -> datetime.datetime | None:
    visit = ctx.visit
    return timezone.localtime(visit.start, visit.branch.zone) if visit else None


def _lines(ctx: DocumentContext) -> list:
    return list(ctx.visit.service_lines.all()) if ctx.visit else []


def services_table(ctx: DocumentContext) -> str:
    """The visit's services with their prices, as a table of the printed document."""
    lines = _lines(ctx)
    if not lines:
        return ""
    return placeholders.amounts_table(
        [
            ("№", False),
            (_("Code"), False),
            (_("Service"), False),
            (_("Price"), True),
            (_("Qty"), True),
            (_("Amount"), True),
        ],
        (
            (
                number,
                line.service.code,
                line.service_text,
                format_money(line.price),
                line.quantity,
                format_money(line.price * line.quantity),
            )
            for number, line in enumerate(lines, start=1)
        ),
        visit_total(ctx),
    )


def visit_total(ctx: DocumentContext) -> str:
    lines = _lines(ctx)
    if not lines:
        return ""
    return format_money(round_money(sum((line.price * line.quantity for line in lines), start=0)))


SAMPLE_TABLE = (
    '<table class="doc-services"><thead><tr><th>№</th><th>Код</th><th>Услуга</th>'
    '<th class="doc-amount">Цена</th><th class="doc-amount">Кол-во</th>'
    '<th class="doc-amount">Сумма</th></tr></thead><tbody>'
    "<tr><td>1</td><td>A16.07.002</td><td>Восстановление зуба пломбой</td>"
    '<td class="doc-amount">4\u00a0500,00</td><td class="doc-amount">1</td>'
    '<td class="doc-amount">4\u00a0500,00</td></tr></tbody><tfoot><tr><th colspan="5">Итого</th>'
    '<th class="doc-amount">4\u00a0500,00</th></tr></tfoot></table>'
)

placeholders.register_group(Group("visit", "Визит", "Visit", order=70))
for placeholder in (
    Placeholder(
        "visit_date",
        "visit",
        "Дата визита",
        "Visit date",
        gettext_lazy("The date of the visit the document is printed for."),
        lambda ctx: f"{start:%d.%m.%Y}" if (start := _local_start(ctx)) else "",
        sample="01.12.2026",
    ),
    Placeholder(
        "visit_time",
        "visit",
        "Время визита",
        "Visit time",
        gettext_lazy("The visit's start, in the branch's time."),
        lambda ctx: f"{start:%H:%M}" if (start := _local_start(ctx)) else "",
        sample="10:30",
    ),
    Placeholder(
        "visit_services",
        "visit",
        "Услуги визита",
        "Visit services",
        gettext_lazy("A table of the visit's services with their prices and the total."),
        services_table,
        sample=SAMPLE_TABLE,
        is_html=True,
    ),
    Placeholder(
        "visit_total",
        "visit",
        "Сумма визита",
        "Visit total",
        gettext_lazy("The total of the visit's services: 4 500,00."),
        visit_total,
        sample="4\u00a0500,00",
    ),
):
    placeholders.register(placeholder)
