"""Reads of treatment plans and plan templates, in a fixed number of queries: a plan page
reads its stages and lines once, and "Suggest" ranks every active template from two
queries whatever their number."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone

from clinic.money import round_money
from clinical.models import (
    Diagnosis,
    PlanLine,
    PlanStage,
    PlanTemplate,
    PlanTemplateLine,
    ToothRecord,
    TreatmentPlan,
)
from pricelist.models import Service, ServiceCategory
from pricelist.prices import prices_for

ZERO = Decimal("0.00")


@dataclass
class StageView:
    stage: PlanStage
    lines: list[PlanLine] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return round_money(sum((line.amount for line in self.lines), ZERO))


@dataclass
class PlanView:
    plan: TreatmentPlan
    stages: list[StageView]

    @property
    def total(self) -> Decimal:
        return round_money(sum((stage.total for stage in self.stages), ZERO))

    @property
    def line_count(self) -> int:
        return sum(len(stage.lines) for stage in self.stages)


def plans_for_patient(user, patient_id: int) -> list[tuple[TreatmentPlan, Decimal]]:
    """The patient's plans in the user's branches, newest first, with their totals (two
    queries: the plans, then their lines' prices and quantities)."""
    plans = list(
        TreatmentPlan.objects.for_user(user)
        .filter(patient_id=patient_id)
        .select_related("doctor")
        .order_by("-number")
    )
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    rows = PlanLine.objects.filter(plan__in=[plan.pk for plan in plans]).values_list(
        "plan_id", "price", "quantity"
    )
    for plan_id, price, quantity in rows:
        totals[plan_id] += round_money(price * quantity)
    return [(plan, round_money(totals[plan.pk])) for plan in plans]


def plan_view(plan: TreatmentPlan) -> PlanView:
    """The plan's stages in order with their lines (service, category, diagnosis)."""
    lines = (
        PlanLine.objects.filter(plan=plan)
        .select_related("service", "diagnosis")
        .order_by("position", "pk")
    )
    stages = list(
        PlanStage.objects.filter(plan=plan)
        .prefetch_related(Prefetch("lines", queryset=lines, to_attr="ordered_lines"))
        .order_by("position", "pk")
    )
    return PlanView(plan, [StageView(stage, stage.ordered_lines) for stage in stages])  # type: ignore[attr-defined]


def service_choices(plan: TreatmentPlan) -> list[tuple[ServiceCategory, list[Service]]]:
    """The price list by category for the picker, each service with ``listed_price``: the
    price a line added now gets in the plan's branch (its own list's, else the base's)."""
    grouped: dict[int, tuple[ServiceCategory, list[Service]]] = {}
    services = list(
        Service.objects.select_related("category").order_by(
            "category__position", "category__name", "position", "name"
        )
    )
    listed = prices_for(services, branch=plan.branch, on=timezone.localdate())
    for service in services:
        service.listed_price = listed[service.pk]  # type: ignore[attr-defined]
        grouped.setdefault(service.category_id, (service.category, []))[1].append(service)
    return list(grouped.values())


@dataclass
class CurrentDiagnosis:
    """A diagnosis on the patient's chart now, with its records as (record id, tooth)."""

    diagnosis: Diagnosis
    records: list[tuple[int, int]]

    @property
    def teeth(self) -> list[int]:
        return sorted({tooth for _record, tooth in self.records})


def current_diagnoses(patient_id: int) -> list[CurrentDiagnosis]:
    """The chart's current records that name a diagnosis, grouped by diagnosis (one query)."""
    records = (
        ToothRecord.objects.current()
        .filter(patient_id=patient_id, diagnosis__isnull=False)
        .select_related("diagnosis")
        .order_by("diagnosis__code", "tooth", "pk")
    )
    grouped: dict[int, CurrentDiagnosis] = {}
    for record in records:
        entry = grouped.setdefault(
            record.diagnosis_id,  # type: ignore[arg-type]
            CurrentDiagnosis(record.diagnosis, []),  # type: ignore[arg-type]
        )
        entry.records.append((record.pk, record.tooth))
    return list(grouped.values())


@dataclass
class Suggestion:
    template_id: int
    name: str
    description: str
    coverage: Decimal  # share of the ticked diagnoses the template covers, 0..100
    own_share: Decimal  # share of the template's diagnoses among the ticked, 0..100
    covered_codes: list[str]
    broken_services: list[str]

    @property
    def percent(self) -> int:
        return int(self.coverage.to_integral_value())


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(100) * part / whole).quantize(Decimal("0.1")) if whole else Decimal(0)


def suggest(ticked: set[int]) -> list[Suggestion]:
    """Active templates covering at least one ticked diagnosis, best first: by the share of
    the ticked diagnoses covered, then by the share of the template's own diagnoses that
    are ticked, then by name. Three queries, whatever the number of templates."""
    if not ticked:
        return []
    through = PlanTemplate.diagnoses.through
    pairs = through.objects.filter(plantemplate__deleted_at__isnull=True).values_list(
        "plantemplate_id", "diagnosis_id", "diagnosis__code"
    )
    own: dict[int, set[int]] = defaultdict(set)
    codes: dict[int, str] = {}
    for template_id, diagnosis_id, code in pairs:
        own[template_id].add(diagnosis_id)
        codes[diagnosis_id] = code
    candidates = {tid: ids for tid, ids in own.items() if ids & ticked}
    if not candidates:
        return []
    broken: dict[int, list[str]] = defaultdict(list)
    for template_id, code, name in PlanTemplateLine.objects.filter(
        template_id__in=candidates, service__deleted_at__isnull=False
    ).values_list("template_id", "service__code", "service__name"):
        broken[template_id].append(f"{code} {name}")
    suggestions = [
        Suggestion(
            template_id=template.pk,
            name=template.name,
            description=template.description,
            coverage=_percent(len(candidates[template.pk] & ticked), len(ticked)),
            own_share=_percent(len(candidates[template.pk] & ticked), len(candidates[template.pk])),
            covered_codes=sorted(codes[d] for d in candidates[template.pk] & ticked),
            broken_services=broken[template.pk],
        )
        for template in PlanTemplate.objects.filter(pk__in=candidates).only(
            "pk", "name", "description"
        )
    ]
    suggestions.sort(key=lambda s: (-s.coverage, -s.own_share, s.name))
    return suggestions


def templates_with_problems() -> list[tuple[PlanTemplate, list[str], Decimal]]:
    """The reference book's list: each active template with the services of its lines that
    left the price list, and its hours (three queries)."""
    templates = list(
        PlanTemplate.objects.prefetch_related(
            Prefetch("diagnoses", queryset=Diagnosis.all_objects.only("pk", "code", "name")),
            Prefetch(
                "lines",
                queryset=PlanTemplateLine.objects.select_related("service", "profession"),
            ),
        ).order_by("position", "name")
    )
    result = []
    for template in templates:
        lines = list(template.lines.all())
        broken = [str(line.service) for line in lines if line.service.deleted_at is not None]
        hours = sum((line.hours for line in lines), Decimal(0))
        result.append((template, broken, hours))
    return result
