"""An approved plan's lines booked into the patient's visits, and done when the visit is.

Booking adds the lines to the visit as its service lines (tooth, quantity and the plan's
price), through the calendar's own write, and notes the visit on each plan line. When the
visit is completed, the lines it still carries (same service and tooth) are done; when it is
cancelled, or loses the service, the lines are free to book again.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from calendar_app import services as calendar_services
from calendar_app.models import Appointment, AppointmentService, StatusCode
from clinic import audit, events
from clinic.models import AuditAction, OutboxEvent
from clinical.models import PlanLine, PlanLineStatus, PlanStatus, TreatmentPlan
from clinical.plans import _payload

# Visits a line may still be booked into.
OPEN_STATUSES = (StatusCode.PLANNED, StatusCode.CONFIRMED, StatusCode.ARRIVED, StatusCode.IN_CHAIR)


def bookable_visits(plan: TreatmentPlan, user):
    """The patient's visits still ahead (or in progress) in the user's branches."""
    return (
        Appointment.objects.for_user(user)
        .filter(patient_id=plan.patient_id, status__in=OPEN_STATUSES)
        .select_related("doctor", "branch")
        .order_by("start", "pk")
    )


def visits_of(view, user) -> dict[int, Appointment]:
    """The visits the plan's lines are booked into that the user may see, by id, each also
    set on its lines as ``line.visit`` (one query)."""
    lines = [line for stage in view.stages for line in stage.lines]
    ids = {line.appointment_id for line in lines if line.appointment_id}
    visits = {}
    if ids:
        visits = {
            visit.pk: visit
            for visit in Appointment.all_objects.for_user(user)
            .filter(pk__in=ids)
            .select_related("branch")
        }
    for line in lines:
        line.visit = visits.get(line.appointment_id)
    return visits


@transaction.atomic
def lines_book(*, plan: TreatmentPlan, line_ids: list[int], appointment: Appointment, by) -> int:
    """Book the plan's planned, unbooked lines ``line_ids`` into ``appointment``; returns how
    many were booked. All or nothing."""
    plan = TreatmentPlan.objects.select_for_update(no_key=True, of=("self",)).get(pk=plan.pk)
    if plan.status != PlanStatus.APPROVED:
        raise ValidationError(
            _("Only the lines of an approved plan are booked into visits."), code="not_approved"
        )
    if appointment.patient_id != plan.patient_id:
        raise ValidationError(_("This visit is another patient's."), code="other_patient")
    if appointment.status not in OPEN_STATUSES or appointment.deleted_at is not None:
        raise ValidationError(
            _("Plan lines are booked into a visit that is still ahead."), code="visit_closed"
        )
    lines = list(
        PlanLine.objects.select_for_update(no_key=True, of=("self",))
        .filter(plan=plan, pk__in=line_ids)
        .select_related("service")
        .order_by("position", "pk")
    )
    if not lines or len(lines) != len(set(line_ids)):
        raise ValidationError(_("Choose lines of this plan to book."), code="no_lines")
    for line in lines:
        if line.status == PlanLineStatus.DONE or line.appointment_id:
            raise ValidationError(
                _("%(service)s is already booked or done.") % {"service": line.service.name},
                code="booked",
            )
    current = [
        calendar_services.Line(existing.service, tooth=existing.tooth)
        for existing in appointment.service_lines.select_related("service")
    ]
    added = [
        calendar_services.Line(
            line.service, tooth=line.tooth, quantity=line.quantity, price=line.price
        )
        for line in lines
    ]
    calendar_services.appointment_update(
        appointment=appointment, by=by, services=[*current, *added]
    )
    PlanLine.objects.filter(pk__in=[line.pk for line in lines]).update(
        appointment_id=appointment.pk
    )
    changes = {"booked": [[], [line.pk for line in lines]], "appointment": [None, appointment.pk]}
    audit.record(
        actor=by, action=AuditAction.UPDATE, obj=plan, changes=changes, patient_id=plan.patient_id
    )
    events.publish(
        "treatment_plan.changed",
        plan,
        _payload(plan, change="booked", appointment_id=appointment.pk, lines=len(lines)),
        actor=by,
    )
    return len(lines)


@transaction.atomic
def visit_closed(appointment_id: int) -> None:
    """A visit ended: its booked plan lines that it still carries are done if it was
    completed; the others (cancelled, no-show, the service taken off) are free again."""
    visit = Appointment.all_objects.filter(pk=appointment_id).first()
    lines = list(
        PlanLine.objects.select_for_update(no_key=True, of=("self",)).filter(
            appointment_id=appointment_id, status=PlanLineStatus.PLANNED
        )
    )
    if visit is None or not lines or visit.status in OPEN_STATUSES:
        return
    carried = set(
        AppointmentService.objects.filter(appointment_id=appointment_id).values_list(
            "service_id", "tooth"
        )
    )
    now = timezone.now()
    done, freed = [], []
    for line in lines:
        if visit.status == StatusCode.COMPLETED and (line.service_id, line.tooth) in carried:
            line.status, line.done_at = PlanLineStatus.DONE, now
            done.append(line)
        else:
            line.appointment_id = None
            freed.append(line)
    PlanLine.objects.bulk_update([*done, *freed], ["status", "done_at", "appointment_id"])
    for plan in TreatmentPlan.objects.filter(pk__in={line.plan_id for line in lines}):
        mine = [line.pk for line in done if line.plan_id == plan.pk]
        free = [line.pk for line in freed if line.plan_id == plan.pk]
        audit.record(
            actor=None,
            action=AuditAction.UPDATE,
            obj=plan,
            changes={"done": [[], mine], "freed": [[], free]},
            patient_id=plan.patient_id,
        )
        events.publish(
            "treatment_plan.changed",
            plan,
            _payload(plan, change="visit_closed", appointment_id=appointment_id, done=len(mine)),
        )


@events.subscriber("appointment.status_changed", "appointment.cancelled", "appointment.deleted")
def on_visit_status(event: OutboxEvent) -> None:
    appointment_id = event.payload.get("appointment_id")
    if isinstance(appointment_id, int):
        visit_closed(appointment_id)
