"""Writes of treatment plans: a numbered draft per patient, its stages and lines, approval,
completion, cancellation, and filling a draft from a plan template ("Suggest").

Every write locks the plan's row first and refuses a plan that is no longer a draft, so two
editors cannot interleave and an approved plan never changes under an invoice."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import audit, events, numbering, teeth
from clinic.models import AuditAction, Branch, Employee
from clinical.models import (
    Diagnosis,
    PlanLine,
    PlanStage,
    PlanStatus,
    PlanTemplate,
    PlanTemplateLine,
    TreatmentPlan,
)
from patients.models import Patient
from pricelist.models import Service
from pricelist.prices import prices_for

# status -> the statuses it may move to
TRANSITIONS = {
    PlanStatus.DRAFT: {PlanStatus.APPROVED, PlanStatus.CANCELLED},
    PlanStatus.APPROVED: {PlanStatus.COMPLETED, PlanStatus.CANCELLED},
    PlanStatus.COMPLETED: set(),
    PlanStatus.CANCELLED: set(),
}
EVENTS = {
    PlanStatus.APPROVED: "treatment_plan.approved",
    PlanStatus.COMPLETED: "treatment_plan.completed",
    PlanStatus.CANCELLED: "treatment_plan.cancelled",
}
MAX_QUANTITY = 1000


def _user(by):
    return by if by is not None and by.is_authenticated else None


def stage_name(position: int) -> str:
    return _("Stage %(number)s") % {"number": position}


def plan_invoiceable(plan: TreatmentPlan) -> bool:
    return plan.status == PlanStatus.APPROVED


def ensure_invoiceable(plan: TreatmentPlan) -> None:
    """For billing: an invoice is made only from an approved plan."""
    if plan.status == PlanStatus.DRAFT:
        raise ValidationError(_("An invoice cannot be made from a draft plan."), code="draft")
    if plan.status != PlanStatus.APPROVED:
        raise ValidationError(
            _("An invoice cannot be made from a %(status)s plan.")
            % {"status": plan.get_status_display().lower()},
            code="not_approved",
        )


def _payload(plan: TreatmentPlan, **extra) -> dict:
    return {
        "patient_id": plan.patient_id,
        "id": plan.pk,
        "number": plan.number,
        "status": plan.status,
        **extra,
    }


def _locked_draft(plan: TreatmentPlan) -> TreatmentPlan:
    current = TreatmentPlan.objects.select_for_update(no_key=True, of=("self",)).get(pk=plan.pk)
    if current.status != PlanStatus.DRAFT:
        raise ValidationError(
            _("This plan is %(status)s: only a draft plan can be edited.")
            % {"status": current.get_status_display().lower()},
            code="not_draft",
        )
    return current


def _check_quantity(quantity: int) -> int:
    if not isinstance(quantity, int) or quantity < 1 or quantity > MAX_QUANTITY:
        raise ValidationError(
            _("The quantity must be a whole number from 1 to %(max)s.") % {"max": MAX_QUANTITY},
            code="quantity",
        )
    return quantity


def _check_service(service: Service) -> Service:
    """The service as it is now: a deactivated (soft-deleted) one is refused by name."""
    current = Service.all_objects.filter(pk=service.pk).first()
    if current is None or current.deleted_at is not None:
        raise ValidationError(
            _("The service %(service)s is no longer in the price list.") % {"service": service},
            code="inactive_service",
        )
    return current


def _changed(plan: TreatmentPlan, by, what: str, **extra) -> None:
    events.publish("treatment_plan.changed", plan, _payload(plan, change=what, **extra), actor=by)


def next_plan_number(patient: Patient) -> int:
    """The patient's next plan number (a row-locked counter per patient: no gaps reused,
    no two plans with one number)."""
    return numbering.next_number(f"treatment-plan:{patient.pk}")


@transaction.atomic
def plan_create(
    *,
    patient: Patient,
    branch: Branch,
    by,
    doctor: Employee | None = None,
    title: str = "",
) -> TreatmentPlan:
    """A new draft numbered after the patient's last plan, with its first stage."""
    number = next_plan_number(patient)
    plan = TreatmentPlan(
        patient=patient,
        branch=branch,
        number=number,
        doctor=doctor,
        title=title.strip()[:200],
        created_by=_user(by),
    )
    plan.full_clean()
    plan.save()
    PlanStage.objects.create(plan=plan, name=stage_name(1), position=1)
    audit.record_created(
        actor=by,
        obj=plan,
        patient_id=patient.pk,
        fields=["patient", "number", "title", "doctor", "branch", "status"],
    )
    events.publish("treatment_plan.created", plan, _payload(plan), actor=by)
    return plan


@transaction.atomic
def plan_update(*, plan: TreatmentPlan, by, title: str, doctor: Employee | None) -> TreatmentPlan:
    current = _locked_draft(plan)
    before = audit.snapshot(current, ["title", "doctor"])
    current.title = title.strip()[:200]
    current.doctor = doctor
    current.save(update_fields=["title", "doctor"])
    audit.record_changed(actor=by, obj=current, before=before, patient_id=current.patient_id)
    return current


@transaction.atomic
def stage_add(*, plan: TreatmentPlan, by, name: str = "") -> PlanStage:
    current = _locked_draft(plan)
    position = (current.stages.aggregate(m=Max("position"))["m"] or 0) + 1
    stage = PlanStage.objects.create(
        plan=current, name=name.strip()[:100] or stage_name(position), position=position
    )
    audit.record_created(
        actor=by, obj=stage, patient_id=current.patient_id, fields=["plan", "name", "position"]
    )
    _changed(current, by, "stage_added", stage=stage.name)
    return stage


def _stage_of(plan: TreatmentPlan, stage: PlanStage | None) -> PlanStage:
    if stage is None:
        first = plan.stages.order_by("position", "pk").first()
        if first is None:
            first = PlanStage.objects.create(plan=plan, name=stage_name(1), position=1)
        return first
    if stage.plan_id != plan.pk:
        raise ValidationError(_("This stage belongs to another plan."), code="other_plan")
    return stage


@dataclass
class NewLine:
    service: Service
    tooth: int | None = None
    quantity: int = 1
    diagnosis: Diagnosis | None = None


def _build_lines(
    plan: TreatmentPlan, stage: PlanStage, wanted: Iterable[NewLine]
) -> list[PlanLine]:
    position = plan.lines.aggregate(m=Max("position"))["m"] or 0
    wanted = list(wanted)
    services = [_check_service(new.service) for new in wanted]
    # The plan is priced from its branch's list as it is today (``pricelist.prices``).
    listed = prices_for(services, branch=plan.branch, on=timezone.localdate())
    made = []
    for new, service in zip(wanted, services, strict=True):
        quantity = _check_quantity(new.quantity)
        tooth = new.tooth
        if tooth is not None:
            tooth = teeth.validate_teeth([tooth])[0]
        elif service.per_tooth:
            raise ValidationError(
                _("%(service)s is priced per tooth: choose the teeth.") % {"service": service},
                code="no_tooth",
            )
        position += 1
        made.append(
            PlanLine(
                plan=plan,
                stage=stage,
                service=service,
                tooth=tooth,
                quantity=quantity,
                price=listed[service.pk],
                diagnosis=new.diagnosis,
                position=position,
            )
        )
    return made


def _insert(plan: TreatmentPlan, lines: list[PlanLine], by) -> list[PlanLine]:
    lines = PlanLine.objects.bulk_create(lines)
    for line in lines:
        audit.record_created(
            actor=by,
            obj=line,
            patient_id=plan.patient_id,
            fields=["plan", "stage", "service", "tooth", "quantity", "price", "diagnosis"],
        )
    return lines


@transaction.atomic
def lines_add(
    *,
    plan: TreatmentPlan,
    service: Service,
    teeth_numbers: list[int],
    quantity: int,
    by,
    stage: PlanStage | None = None,
    diagnosis: Diagnosis | None = None,
    dentition: str | None = None,
) -> list[PlanLine]:
    """A per-tooth service: one line per selected tooth; another: one line (on the tooth
    when exactly one is selected)."""
    current = _locked_draft(plan)
    target = _stage_of(current, stage)
    chosen = teeth.validate_teeth(teeth_numbers, dentition) if teeth_numbers else []
    if service.per_tooth:
        wanted = [NewLine(service, tooth, quantity, diagnosis) for tooth in chosen] or [
            NewLine(service, None, quantity, diagnosis)
        ]
    else:
        tooth = chosen[0] if len(chosen) == 1 else None
        wanted = [NewLine(service, tooth, quantity, diagnosis)]
    lines = _insert(current, _build_lines(current, target, wanted), by)
    _changed(current, by, "lines_added", service=service.code, teeth=chosen)
    return lines


def _locked_line(line: PlanLine) -> tuple[TreatmentPlan, PlanLine]:
    plan = _locked_draft(line.plan)
    current = PlanLine.objects.get(pk=line.pk)
    return plan, current


@transaction.atomic
def line_update(
    *, line: PlanLine, by, quantity: int | None = None, stage: PlanStage | None = None
) -> PlanLine:
    """Change a draft line's quantity or move it to another stage of its plan."""
    plan, current = _locked_line(line)
    before = audit.snapshot(current, ["quantity", "stage"])
    if quantity is not None:
        current.quantity = _check_quantity(quantity)
    if stage is not None:
        current.stage = _stage_of(plan, stage)
    current.save(update_fields=["quantity", "stage"])
    if audit.record_changed(actor=by, obj=current, before=before, patient_id=plan.patient_id):
        _changed(plan, by, "line_changed", line=current.pk)
    return current


@transaction.atomic
def line_remove(*, line: PlanLine, by) -> None:
    plan, current = _locked_line(line)
    audit.record(
        actor=by,
        action=AuditAction.DELETE,
        obj=current,
        changes={"service": [current.service_id, None], "tooth": [current.tooth, None]},
        patient_id=plan.patient_id,
    )
    current.delete()
    _changed(plan, by, "line_removed", line=line.pk)


@transaction.atomic
def stage_rename(*, stage: PlanStage, name: str, by) -> PlanStage:
    plan = _locked_draft(stage.plan)
    name = name.strip()[:100]
    if not name:
        raise ValidationError(_("Give the stage a name."), code="name")
    if name != stage.name:
        audit.record(
            actor=by,
            action=AuditAction.UPDATE,
            obj=stage,
            changes={"name": [stage.name, name]},
            patient_id=plan.patient_id,
        )
        stage.name = name
        stage.save(update_fields=["name"])
        _changed(plan, by, "stage_renamed", stage=name)
    return stage


@transaction.atomic
def stage_move(*, stage: PlanStage, up: bool, by) -> None:
    """Swap the stage with the one before (``up``) or after it; the first stays first when
    moved up, the last stays last when moved down."""
    plan = _locked_draft(stage.plan)
    stages = list(plan.stages.order_by("position", "pk"))
    index = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(stages):
        return
    stages[index], stages[other] = stages[other], stages[index]
    for position, each in enumerate(stages, start=1):
        if each.position != position:
            each.position = position
            each.save(update_fields=["position"])
    audit.record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=stage,
        changes={"position": [index + 1, other + 1]},
        patient_id=plan.patient_id,
    )
    _changed(plan, by, "stage_moved", stage=stage.name)


@transaction.atomic
def stage_remove(*, stage: PlanStage, by) -> None:
    """An empty stage that is not the plan's only one."""
    plan = _locked_draft(stage.plan)
    if stage.lines.exists():
        raise ValidationError(_("Move or remove the stage's lines first."), code="not_empty")
    if plan.stages.count() < 2:
        raise ValidationError(_("A plan keeps at least one stage."), code="last_stage")
    audit.record(
        actor=by,
        action=AuditAction.DELETE,
        obj=stage,
        changes={"name": [stage.name, None]},
        patient_id=plan.patient_id,
    )
    stage.delete()
    _changed(plan, by, "stage_removed")


@transaction.atomic
def plan_set_status(*, plan: TreatmentPlan, status: str, by) -> TreatmentPlan:
    """draft -> approved -> completed; draft or approved -> cancelled."""
    current = TreatmentPlan.objects.select_for_update(no_key=True, of=("self",)).get(pk=plan.pk)
    if status not in TRANSITIONS.get(PlanStatus(current.status), set()):
        raise ValidationError(
            _("A %(from)s plan cannot become %(to)s.")
            % {
                "from": current.get_status_display().lower(),
                "to": str(PlanStatus(status).label).lower()
                if status in PlanStatus.values
                else status,
            },
            code="transition",
        )
    if status == PlanStatus.APPROVED:
        if not current.lines.exists():
            raise ValidationError(_("An empty plan cannot be approved."), code="empty")
        inactive = list(
            Service.all_objects.filter(
                pk__in=current.lines.values("service_id"), deleted_at__isnull=False
            )
        )
        if inactive:
            raise ValidationError(
                _("Services no longer in the price list: %(services)s. Remove them first.")
                % {"services": ", ".join(map(str, inactive))},
                code="inactive_service",
            )
    before = audit.snapshot(current, ["status", "approved_at", "closed_at"])
    now = timezone.now()
    current.status = status
    fields = ["status"]
    if status == PlanStatus.APPROVED:
        current.approved_at, current.approved_by = now, _user(by)
        fields += ["approved_at", "approved_by"]
    else:
        current.closed_at = now
        fields.append("closed_at")
    current.save(update_fields=fields)
    audit.record_changed(actor=by, obj=current, before=before, patient_id=current.patient_id)
    events.publish(EVENTS[PlanStatus(status)], current, _payload(current), actor=by)
    return current


# --- Filling a draft from a template ------------------------------------------------------


@dataclass
class Filled:
    lines: list[PlanLine] = field(default_factory=list)
    # Template lines left out, with why (a service no longer in the price list...).
    skipped: list[str] = field(default_factory=list)


@transaction.atomic
def plan_fill_from_template(
    *,
    plan: TreatmentPlan,
    template: PlanTemplate,
    teeth_by_diagnosis: dict[int, list[int]],
    by,
    stage: PlanStage | None = None,
) -> Filled:
    """Add the template's lines to a draft: a per-tooth service once per tooth that has one
    of the template's diagnoses among the ticked ones (the line carries that diagnosis),
    another service once. Lines whose service left the price list are skipped and named."""
    current = _locked_draft(plan)
    target = _stage_of(current, stage)
    covered = set(template.diagnoses.values_list("pk", flat=True))
    diagnoses = Diagnosis.all_objects.in_bulk(covered & set(teeth_by_diagnosis))
    tooth_diagnosis: dict[int, Diagnosis] = {}
    for diagnosis_id in sorted(diagnoses):
        for tooth in teeth_by_diagnosis[diagnosis_id]:
            tooth_diagnosis.setdefault(tooth, diagnoses[diagnosis_id])
    only = next(iter(diagnoses.values())) if len(diagnoses) == 1 else None
    result = Filled()
    wanted: list[NewLine] = []
    template_lines = PlanTemplateLine.objects.filter(template=template).select_related("service")
    for template_line in template_lines.order_by("position", "pk"):
        service = template_line.service
        if service.deleted_at is not None:
            result.skipped.append(
                _("%(service)s is no longer in the price list.") % {"service": service}
            )
            continue
        if service.per_tooth:
            if not tooth_diagnosis:
                result.skipped.append(
                    _("%(service)s is priced per tooth and no tooth was ticked.")
                    % {"service": service}
                )
                continue
            wanted += [
                NewLine(service, tooth, template_line.quantity, diagnosis)
                for tooth, diagnosis in sorted(tooth_diagnosis.items())
            ]
        else:
            wanted.append(NewLine(service, None, template_line.quantity, only))
    result.lines = _insert(current, _build_lines(current, target, wanted), by)
    _changed(
        current,
        by,
        "filled_from_template",
        template=template.name,
        skipped=len(result.skipped),
    )
    return result


# --- The plan templates' reference book ---------------------------------------------------


@transaction.atomic
def template_save(
    *,
    template: PlanTemplate,
    data: dict,
    diagnoses: list[Diagnosis],
    lines: list[dict],
    by,
) -> PlanTemplate:
    """Create or change a template with its diagnoses and its lines (rewritten in the order
    given); audited with the lines as text. Each line's service must be in the price list."""
    if not diagnoses:
        raise ValidationError(_("Choose at least one diagnosis (ICD-10)."), code="no_diagnosis")
    for line in lines:
        _check_service(line["service"])
        _check_quantity(line["quantity"])
    created = template.pk is None
    if created:
        template.position = (PlanTemplate.all_objects.aggregate(m=Max("position"))["m"] or 0) + 1
        before: dict = {}
    else:
        template = PlanTemplate.objects.select_for_update(no_key=True).get(pk=template.pk)
        before = audit.snapshot(template, ["name", "description", "diagnoses"])
        before["lines"] = _lines_text(template)
    for name, value in data.items():
        setattr(template, name, value)
    template.full_clean(exclude=["diagnoses"])
    template.save()
    template.diagnoses.set(diagnoses)
    template.lines.all().delete()
    PlanTemplateLine.objects.bulk_create(
        [
            PlanTemplateLine(
                template=template,
                service=line["service"],
                profession=line["profession"],
                hours=line["hours"],
                quantity=line["quantity"],
                position=position,
            )
            for position, line in enumerate(lines, start=1)
        ]
    )
    after = audit.snapshot(template, ["name", "description", "diagnoses"])
    after["lines"] = _lines_text(template)
    changes = audit.diff(before, after) if not created else {k: [None, v] for k, v in after.items()}
    if changes:
        audit.record(
            actor=by,
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            obj=template,
            changes=changes,
        )
    return template


def _lines_text(template: PlanTemplate) -> list[str]:
    return [
        f"{line.profession_id}:{line.service_id}:{line.hours}h×{line.quantity}"
        for line in template.lines.order_by("position", "pk")
    ]
