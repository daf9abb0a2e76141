"""What treatment plans give the documents app (registered from ``registrations``): the plan
a document is printed for (an informed consent names the plan and its cost), the plans a
print dialog offers, and the plan placeholders."""

import datetime
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.money import format_money, round_money
from clinical.models import PlanLine, PlanStatus, TreatmentPlan
from clinical.plan_selectors import plans_for_patient
from documents import placeholders
from documents.context import DocumentContext, PlanChoice, PlanSource, register_plan_source
from documents.placeholders import Group, Placeholder
from documents.standard_placeholders import short_date


def load_plan(plan_id: int, patient, user) -> TreatmentPlan | None:
    lines = PlanLine.objects.select_related("service").order_by(
        "stage__position", "stage_id", "position", "pk"
    )
    return (
        TreatmentPlan.objects.for_user(user)
        .filter(patient=patient, pk=plan_id)
        .select_related("doctor", "branch")
        .prefetch_related(Prefetch("lines", queryset=lines))
        .first()
    )


def plan_choices(patient, user) -> list[PlanChoice]:
    """The patient's plans in the user's branches but the cancelled ones, newest first (two
    queries, whatever their number)."""
    choices = []
    for plan, total in plans_for_patient(user, patient.pk):
        if plan.status == PlanStatus.CANCELLED:
            continue
        parts = [str(plan), plan.title, str(plan.get_status_display()).lower()]
        choices.append(PlanChoice(plan.pk, " · ".join(filter(None, [*parts, format_money(total)]))))
    return choices


register_plan_source(PlanSource(load=load_plan, choices=plan_choices))


# --- Placeholders ----------------------------------------------------------------------


def _plan(ctx: DocumentContext) -> TreatmentPlan | None:
    return ctx.subject("plan")


def _lines(ctx: DocumentContext) -> list[PlanLine]:
    plan = _plan(ctx)
    return list(plan.lines.all()) if plan else []


def _day(ctx: DocumentContext, field: str) -> str:
    """The plan's ``created_at`` or ``approved_at`` as the branch's date."""
    plan = _plan(ctx)
    moment: datetime.datetime | None = getattr(plan, field) if plan else None
    if plan is None or moment is None:
        return ""
    return short_date(timezone.localtime(moment, plan.branch.zone).date())


def plan_total(ctx: DocumentContext) -> str:
    lines = _lines(ctx)
    if not lines:
        return ""
    return format_money(round_money(sum((line.amount for line in lines), Decimal(0))))


def services_table(ctx: DocumentContext) -> str:
    """The plan's services in the order of its stages, with their prices and the total."""
    lines = _lines(ctx)
    if not lines:
        return ""
    return placeholders.amounts_table(
        [
            (_("Tooth"), False),
            (_("Code"), False),
            (_("Service"), False),
            (_("Qty"), True),
            (_("Price"), True),
            (_("Amount"), True),
        ],
        (
            (
                line.tooth or "",
                line.service.code,
                line.service.name,
                line.quantity,
                format_money(line.price),
                format_money(line.amount),
            )
            for line in lines
        ),
        plan_total(ctx),
    )


SAMPLE_TABLE = (
    '<table class="doc-services"><thead><tr><th>Зуб</th><th>Код</th><th>Услуга</th>'
    '<th class="doc-amount">Кол-во</th><th class="doc-amount">Цена</th>'
    '<th class="doc-amount">Сумма</th></tr></thead><tbody>'
    "<tr><td>36</td><td>A16.07.002</td><td>Восстановление зуба пломбой</td>"
    '<td class="doc-amount">1</td><td class="doc-amount">7\u00a0500,00</td>'
    '<td class="doc-amount">7\u00a0500,00</td></tr>'
    "<tr><td>46</td><td>A16.07.008</td><td>Пломбирование корневого канала зуба</td>"
    '<td class="doc-amount">3</td><td class="doc-amount">4\u00a0500,00</td>'
    '<td class="doc-amount">13\u00a0500,00</td></tr></tbody><tfoot><tr><th colspan="5">Итого</th>'
    '<th class="doc-amount">21\u00a0000,00</th></tr></tfoot></table>'
)

placeholders.register_group(Group("plan", "План лечения", "Treatment plan", order=80))
for placeholder in (
    Placeholder(
        "plan_number",
        "plan",
        "Номер плана",
        "Plan number",
        gettext_lazy("The number of the treatment plan the document is printed for: 3."),
        lambda ctx: str(plan.number) if (plan := _plan(ctx)) else "",
        sample="3",
    ),
    Placeholder(
        "plan_title",
        "plan",
        "Название плана",
        "Plan title",
        gettext_lazy("The plan's title, if it has one."),
        lambda ctx: plan.title if (plan := _plan(ctx)) else "",
        sample="Санация полости рта",
    ),
    Placeholder(
        "plan_status",
        "plan",
        "Статус плана",
        "Plan status",
        gettext_lazy("The plan's status: approved, completed."),
        lambda ctx: str(plan.get_status_display()) if (plan := _plan(ctx)) else "",
        sample="Утверждён",
    ),
    Placeholder(
        "plan_doctor",
        "plan",
        "Врач плана",
        "Plan doctor",
        gettext_lazy("The full name of the plan's doctor."),
        lambda ctx: plan.doctor.full_name if (plan := _plan(ctx)) and plan.doctor else "",
        sample="Смирнов Алексей Викторович",
    ),
    Placeholder(
        "plan_date",
        "plan",
        "Дата плана",
        "Plan date",
        gettext_lazy("The date the plan was made."),
        lambda ctx: _day(ctx, "created_at"),
        sample="14.11.2026",
    ),
    Placeholder(
        "plan_approved_date",
        "plan",
        "Дата утверждения плана",
        "Plan approval date",
        gettext_lazy("The date the plan was approved; blank for a draft."),
        lambda ctx: _day(ctx, "approved_at"),
        sample="20.11.2026",
    ),
    Placeholder(
        "plan_services",
        "plan",
        "Услуги плана",
        "Plan services",
        gettext_lazy(
            "A table of the plan's services (tooth, code, quantity, price, amount) and the total."
        ),
        services_table,
        sample=SAMPLE_TABLE,
        is_html=True,
    ),
    Placeholder(
        "plan_total",
        "plan",
        "Сумма плана",
        "Plan total",
        gettext_lazy("The total of the plan's services: 21 000,00."),
        plan_total,
        sample="21\u00a0000,00",
    ),
):
    placeholders.register(placeholder)
