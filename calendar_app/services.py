"""Writes of the calendar: booking, moving, statuses, shifts, waiting list.

Overlaps are checked here under row locks (the chair and the doctor, always locked in the
same order) and enforced again by PostgreSQL's exclusion constraints; a conflict becomes a
``SlotTaken`` with a message for the user, never a half-saved row. Every write audits,
publishes its ``appointment.*`` / ``shift.*`` / ``waitlist.*`` event and, after commit,
tells the open calendars of that branch and day to refresh.
"""

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from calendar_app.models import (
    LONGEST,
    QUANTITY_MAX,
    VISIT_MINUTES,
    Appointment,
    AppointmentService,
    AppointmentStatusChange,
    StatusCode,
    VisitType,
    WaitingListEntry,
    WaitlistStatus,
    WorkShift,
    new_series,
)
from clinic import audit, bounds, events, live, teeth
from clinic import services as clinic_services
from clinic.db import Insert, Statement, first_values, first_values_query, lock_rows
from clinic.dependents import Dependent
from clinic.models import Branch, Chair, Employee, ProfessionKind, User
from clinic.shapes import Shape
from patients.models import Patient, PatientStatus
from patients.services import returning_after_months
from pricelist.models import Service
from pricelist.prices import prices_for, prices_from, prices_query


class SlotTaken(ValidationError):
    """The chair or the doctor is busy at that time."""


class OutsideShift(ValidationError):
    """The visit is outside the doctor's shift; the user may confirm and book anyway."""


# --- Helpers ---------------------------------------------------------------------------


def _lock_resources(
    chairs: Iterable[Chair],
    doctors: Iterable[Employee],
    patient: Patient | None = None,
    *,
    then: Sequence[Statement | QuerySet] = (),
) -> tuple[set[tuple[type, int]], list[list[tuple]]]:
    """Serialise bookings per chair and per doctor (fixed order: no deadlocks); and per
    patient when given, so that a booking and the deletion of the card do not cross.

    Every row lock of the write paths is FOR NO KEY UPDATE, and joined rows are left alone
    (``of=("self",)``): a plain FOR UPDATE also blocks the foreign-key checks that other
    transactions run at COMMIT, after they took the audit chain's lock, which deadlocked
    bookings against status changes under load.

    Returns the locked rows that are in the recycle bin, as (model, id), read under the
    lock (``_refuse_removed`` turns them into a message); and the rows of the ``then``
    statements, sent with the locks and run once they are held (``clinic.db.lock_rows``).
    """
    locks: list[tuple[type[Model], list[int]]] = [
        (Chair, [chair.pk for chair in chairs]),
        (Employee, [doctor.pk for doctor in doctors]),
    ]
    if patient is not None:
        locks.append((Patient, [patient.pk]))
    rows, then_rows = lock_rows(locks, fields=("id", "deleted_at"), then=then)
    removed = {
        (model, pk)
        for (model, _ids), locked in zip(locks, rows, strict=True)
        for pk, deleted_at in locked
        if deleted_at is not None
    }
    return removed, then_rows


def _refuse_removed(
    removed: set[tuple[type, int]],
    *,
    chair: Chair,
    doctor: Employee,
    patient: Patient | None = None,
) -> None:
    """A visit or a shift needs its chair, its doctor and its patient to be there."""
    if (Chair, chair.pk) in removed:
        message = _("The chair %(chair)s has been deleted.") % {"chair": chair}
    elif (Employee, doctor.pk) in removed:
        message = _("%(doctor)s has been deactivated.") % {"doctor": doctor.short_name}
    elif patient is not None and (Patient, patient.pk) in removed:
        message = _("The card of %(patient)s has been deleted.") % {"patient": patient.short_name}
    else:
        return
    raise ValidationError(message, code="removed")


@dataclass(frozen=True)
class SlotReading:
    works_here: bool  # the doctor works in the chair's branch
    clash_id: int | None  # a visit that occupies the chair or the doctor then
    covered: bool  # a shift of this doctor on this chair covers the time
    attended: bool  # the patient has a completed visit (when asked about a patient)


# What a booking checks about its time (``_read_slot``), compiled once (``clinic.shapes``):
# the window's bounds are computed by the caller, so that they reach the SQL as values.
DOCTOR_WORKS_IN = Shape(
    lambda *, doctor, branch: Employee.branches.through.objects.filter(
        employee_id=doctor, branch_id=branch, branch__deleted_at__isnull=True
    ).values_list("pk")[:1],
    name="doctor works in branch",
)


def _clashes(*, chair, doctor, start, end, earliest):
    return (
        Appointment.objects.occupying()
        .overlapping(start, end, earliest=earliest)
        .filter(Q(chair=chair) | Q(doctor=doctor))
    )


CLASH = Shape(lambda **values: _clashes(**values).values_list("pk")[:1], name="clash")
CLASH_OTHER_THAN = Shape(
    lambda *, exclude, **values: _clashes(**values).exclude(pk=exclude).values_list("pk")[:1],
    name="clash with another visit",
)
SHIFT_COVERS = Shape(
    lambda *, doctor, chair, start, end, earliest: WorkShift.objects.filter(
        doctor=doctor, chair=chair, start__lte=start, end__gte=end, start__gte=earliest
    ).values_list("pk")[:1],
    name="shift covers",
)
ATTENDED = Shape(
    lambda *, patient: Appointment.objects.filter(
        patient=patient, status=StatusCode.COMPLETED
    ).values_list("pk")[:1],
    name="patient attended",
)


def _slot_lookups(
    *,
    chair: Chair,
    doctor: Employee,
    start: datetime.datetime,
    end: datetime.datetime,
    exclude_pk: int | None = None,
    patient: Patient | None = None,
) -> list[tuple[str, list[Any]]]:
    """What a booking checks about its time: one-value lookups for ``first_values``, whose
    row ``_slot_reading`` reads."""
    times = {"start": start, "end": end}
    clash = {"chair": chair.pk, "doctor": doctor.pk, "earliest": start - LONGEST, **times}
    lookups = [
        DOCTOR_WORKS_IN.sql(doctor=doctor.pk, branch=chair.branch_id),
        CLASH_OTHER_THAN.sql(exclude=exclude_pk, **clash) if exclude_pk else CLASH.sql(**clash),
        SHIFT_COVERS.sql(chair=chair.pk, doctor=doctor.pk, earliest=end - LONGEST, **times),
    ]
    if patient is not None:  # the patient's history, for the visit type
        lookups.append(ATTENDED.sql(patient=patient.pk))
    return lookups


def _slot_reading(values: Sequence[Any]) -> SlotReading:
    works_here, clash_id, shift_id, *history = values
    return SlotReading(
        works_here=works_here is not None,
        clash_id=clash_id,
        covered=shift_id is not None,
        attended=bool(history) and history[0] is not None,
    )


def _read_slot(**slot: Any) -> SlotReading:
    """What a booking checks about its time, read in one round trip (under the caller's
    locks)."""
    return _slot_reading(first_values(*_slot_lookups(**slot)))


def _check_slot(
    *,
    chair: Chair,
    doctor: Employee,
    start: datetime.datetime,
    end: datetime.datetime,
    exclude_pk: int | None = None,
    allow_outside_shift: bool = False,
    patient: Patient | None = None,
    require_works_here: bool = True,
    reading: SlotReading | None = None,
) -> SlotReading:
    """Refuse a doctor from another branch (unless ``require_works_here`` is off), a taken
    time and, unless allowed, a time outside the doctor's shift on this chair. ``reading``:
    the slot as the caller read it already (with its locks)."""
    if reading is None:
        reading = _read_slot(
            chair=chair,
            doctor=doctor,
            start=start,
            end=end,
            exclude_pk=exclude_pk,
            patient=patient,
        )
    if require_works_here and not reading.works_here:
        _refuse_other_branch(chair=chair, doctor=doctor)
    if reading.clash_id is not None:
        _refuse_clash(reading.clash_id, chair=chair, doctor=doctor)
    if not allow_outside_shift and not reading.covered:
        _refuse_outside_shift(chair=chair, doctor=doctor)
    return reading


def _refuse_other_branch(*, chair: Chair, doctor: Employee) -> None:
    raise ValidationError(
        _("%(doctor)s does not work in %(branch)s.")
        % {"doctor": doctor.short_name, "branch": chair.branch},
        code="invalid",
    )


def _refuse_outside_shift(*, chair: Chair, doctor: Employee) -> None:
    raise OutsideShift(
        _("%(doctor)s has no shift on %(chair)s at this time. Book anyway?")
        % {"doctor": doctor.short_name, "chair": chair},
        code="outside_shift",
    )


def _check_free(
    *,
    chair: Chair,
    doctor: Employee,
    start: datetime.datetime,
    end: datetime.datetime,
    exclude_pk: int | None = None,
) -> None:
    reading = _read_slot(chair=chair, doctor=doctor, start=start, end=end, exclude_pk=exclude_pk)
    if reading.clash_id is not None:
        _refuse_clash(reading.clash_id, chair=chair, doctor=doctor)


def _refuse_clash(clash_id: int, *, chair: Chair, doctor: Employee) -> None:
    clash = Appointment.objects.select_related("patient").get(pk=clash_id)
    local = timezone.localtime(clash.start, chair.branch.zone)
    if clash.chair_id == chair.pk:
        message = _("%(chair)s is taken at %(time)s (%(patient)s).")
    else:
        message = _("%(doctor)s has another patient at %(time)s (%(patient)s).")
    raise SlotTaken(
        message
        % {
            "chair": chair,
            "doctor": doctor.short_name,
            "time": f"{local:%H:%M}",
            "patient": clash.patient.short_name,
        },
        code="taken",
    )


def _validate_times(
    start: datetime.datetime, end: datetime.datetime, *, shift: bool = False
) -> None:
    """Times of a visit (or of a shift): aware, in the calendar's window around today (so
    that "book anyway" cannot save year 0002 either), in order, at most 12 hours."""
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValueError("calendar times must be aware")
    if shift:
        window = _("Shifts are planned from %(first)s to %(last)s.")
        backwards = _("The shift must end after it starts.")
        too_long = _("A shift cannot be longer than 12 hours.")
    else:
        window = _("Visits are booked from %(first)s to %(last)s.")
        backwards = _("The visit must end after it starts.")
        too_long = _("A visit cannot be longer than 12 hours.")
    bounds.check_calendar_times(start, end, window)
    if end <= start:
        raise ValidationError(backwards, code="invalid")
    if end - start > LONGEST:
        raise ValidationError(too_long, code="invalid")


def _save_or_conflict(obj, **save_kwargs) -> None:
    """Save; the exclusion constraints (the second line of defence) become ``SlotTaken``.
    No savepoint (two round trips): the conflict ends the caller's transaction anyway."""
    try:
        with transaction.atomic(savepoint=False):
            obj.save(**save_kwargs)
    except IntegrityError as exc:
        if "overlap" in str(exc):
            raise SlotTaken(
                _("This time was just taken by another booking."), code="taken"
            ) from exc
        raise


def local_day(moment: datetime.datetime, branch) -> datetime.date:
    return timezone.localtime(moment, branch.zone).date()


def _announce(
    branch_id: int, days: Iterable[datetime.date], doctor_ids: Iterable[int], payload: dict
) -> None:
    topics = {f"calendar.{branch_id}.{day.isoformat()}" for day in days}
    topics |= {
        f"schedule.{doctor_id}.{day.isoformat()}" for day in days for doctor_id in doctor_ids
    }

    transaction.on_commit(lambda: live.broadcast_many(topics, payload))


def _announce_visit(appointment: Appointment) -> None:
    """Refresh the calendars and the doctor's schedule showing this visit's day."""
    _announce(
        appointment.branch_id,
        [local_day(appointment.start, appointment.branch)],
        [appointment.doctor_id],
        {"reload": True, "appointment_id": appointment.pk},
    )


def event_payload(
    appointment: Appointment,
    *,
    lines: Iterable[AppointmentService] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """What other apps (timeline, CRM sync, notifications) need about a visit. ``lines``:
    the visit's service lines with their services, when the caller has them in hand."""
    zone = appointment.branch.zone
    if lines is None:
        lines = appointment.service_lines.select_related("service")
    return {
        "appointment_id": appointment.pk,
        "patient_id": appointment.patient_id,
        "doctor_id": appointment.doctor_id,
        "doctor": str(appointment.doctor.short_name),
        "chair_id": appointment.chair_id,
        "branch_id": appointment.branch_id,
        "start": appointment.start.isoformat(),
        "end": appointment.end.isoformat(),
        "start_display": f"{timezone.localtime(appointment.start, zone):%d.%m.%Y %H:%M}",
        "status": appointment.status,
        "visit_type": appointment.visit_type,
        "services": [
            {
                "id": line.service_id,
                "code": line.service.code,
                "name": line.service.name,
                "tooth": line.tooth,
                "quantity": line.quantity,
                "price": str(line.price),
            }
            for line in lines
        ],
        **extra,
    }


def suggested_visit_type(patient: Patient, *, attended: bool | None = None) -> str:
    """Returning for a returning patient or one who has completed a visit (``attended``,
    when the caller has read it already), else primary."""
    if attended:  # returning whatever the card's status: no need to read the setting
        return VisitType.RETURNING
    status = patient.status_at(timezone.now(), returning_after_months())
    if status == PatientStatus.RETURNING:
        return VisitType.RETURNING
    if attended is None:
        attended = Appointment.objects.filter(patient=patient, status=StatusCode.COMPLETED).exists()
    return VisitType.RETURNING if attended else VisitType.PRIMARY


@dataclass(frozen=True)
class Line:
    """A service to book into a visit: on a tooth or not, how many, and at what price
    (``None``: the price list's for the visit's branch and day). A line is known by its
    service and tooth."""

    service: Service
    tooth: int | None = None
    quantity: int | None = None  # None: as the visit has it already, else 1
    price: Decimal | None = None

    @property
    def key(self) -> tuple[int, int | None]:
        return (self.service.pk, self.tooth)


def as_lines(items: Iterable["Service | Line"]) -> list[Line]:
    """Services or lines as lines, checked, the first of a repeated (service, tooth) kept."""
    lines: dict[tuple[int, int | None], Line] = {}
    for item in items:
        line = item if isinstance(item, Line) else Line(item)
        if line.tooth is not None:
            teeth.validate_teeth([line.tooth])
        if line.quantity is not None and not 1 <= line.quantity <= QUANTITY_MAX:
            raise ValidationError(
                _("A quantity is from 1 to %(max)s.") % {"max": QUANTITY_MAX}, code="quantity"
            )
        lines.setdefault(line.key, line)
    return list(lines.values())


def _line_text(line: "AppointmentService | Line") -> str:
    """How the audit names a line: the service's code, the tooth, the quantity."""
    tooth = f" · {line.tooth}" if line.tooth else ""
    quantity = f" × {line.quantity}" if (line.quantity or 1) != 1 else ""
    return f"{line.service.code or line.service.name}{tooth}{quantity}"


def _service_lines(
    appointment: Appointment, lines: list[Line], listed: dict[int, Decimal]
) -> list[AppointmentService]:
    """The visit's new service lines, not saved yet: at the price each carries or else the
    price ``listed`` for it (``pricelist.prices``)."""
    return [
        AppointmentService(
            appointment=appointment,
            service=line.service,
            tooth=line.tooth,
            quantity=line.quantity or 1,
            price=listed[line.service.pk] if line.price is None else line.price,
        )
        for line in lines
    ]


def _add_services(appointment: Appointment, lines: Iterable[Line]) -> list[AppointmentService]:
    """New service lines, at the price each carries or else the price list's for the
    visit's branch and day; returned with their services."""
    lines = list(lines)
    unpriced = [line.service for line in lines if line.price is None]
    listed = (
        prices_for(
            unpriced,
            branch=appointment.branch,
            on=local_day(appointment.start, appointment.branch),
        )
        if unpriced
        else {}
    )
    return AppointmentService.objects.bulk_create(_service_lines(appointment, lines, listed))


def _set_services(appointment: Appointment, wanted: list[Line]) -> dict[str, list] | None:
    """The visit's lines become ``wanted``: a line that stays (same service, same tooth)
    keeps the price it was booked at (the price list may have changed since) and takes the
    new quantity; removed lines go, new ones come at their own or today's prices. Returns
    the audit's changes, or None when nothing changed."""
    current = list(appointment.service_lines.select_related("service"))
    before_texts = sorted(_line_text(line) for line in current)
    detailed = any(line.tooth or line.quantity != 1 for line in current)
    by_key = {(line.service_id, line.tooth): line for line in current}
    wanted_keys = {line.key for line in wanted}
    gone = [line.pk for key, line in by_key.items() if key not in wanted_keys]
    added = [line for line in wanted if line.key not in by_key]
    requantified: list[AppointmentService] = []
    for line in wanted:
        kept = by_key.get(line.key)
        if kept is not None and line.quantity not in (None, kept.quantity):
            kept.quantity = line.quantity
            requantified.append(kept)
    if not (gone or added or requantified):
        return None
    after = [by_key.get(line.key, line) for line in wanted]
    if gone:
        AppointmentService.objects.filter(pk__in=gone).delete()
    if requantified:
        AppointmentService.objects.bulk_update(requantified, ["quantity"])
    _add_services(appointment, added)
    changes: dict[str, list] = {
        "services": [
            sorted(line.service_id for line in current),
            sorted(line.service.pk for line in wanted),
        ]
    }
    if detailed or any(line.tooth or (line.quantity or 1) != 1 for line in after):
        # The ids name the services; teeth and quantities need the lines themselves.
        changes["service_lines"] = [before_texts, sorted(_line_text(line) for line in after)]
    return changes


# --- Appointments ----------------------------------------------------------------------


@transaction.atomic
def appointment_book(
    *,
    by: User | None,
    patient: Patient,
    doctor: Employee,
    chair: Chair,
    start: datetime.datetime,
    end: datetime.datetime,
    services: Iterable[Service | Line] = (),
    note: str = "",
    visit_type: str | None = None,
    allow_outside_shift: bool = False,
    source: str = "calendar",
) -> Appointment:
    _validate_times(start, end)
    if doctor.kind != ProfessionKind.DOCTOR:
        raise ValidationError(_("Only doctors take appointments."), code="invalid")
    lines = as_lines(services)
    unpriced = [line.service for line in lines if line.price is None]
    # The slot and the prices are read right after the locks are taken, in the same round
    # trip.
    slot = first_values_query(
        *_slot_lookups(
            chair=chair,
            doctor=doctor,
            start=start,
            end=end,
            patient=None if visit_type else patient,
        )
    )
    prices = (
        [prices_query(unpriced, branch=chair.branch, on=local_day(start, chair.branch))]
        if unpriced
        else []
    )
    removed, [slot_rows, *price_rows] = _lock_resources(
        [chair], [doctor], patient, then=[slot, *prices]
    )
    _refuse_removed(removed, chair=chair, doctor=doctor, patient=patient)
    reading = _check_slot(
        chair=chair,
        doctor=doctor,
        start=start,
        end=end,
        allow_outside_shift=allow_outside_shift,
        reading=_slot_reading(slot_rows[0]),
    )
    appointment = Appointment(
        patient=patient,
        doctor=doctor,
        chair=chair,
        branch=chair.branch,
        start=start,
        end=end,
        note=note,
        visit_type=visit_type or suggested_visit_type(patient, attended=reading.attended),
        created_by=by,
        source=source,
    )
    # Overlaps were checked under the lock; the exclusion constraints back that up on save.
    # The chair, the doctor and the patient were just read under that lock (and the author
    # is the signed-in user): validating them would read each row once more.
    appointment.full_clean(
        exclude=["branch", "chair", "doctor", "patient", "created_by"], validate_constraints=False
    )
    _save_or_conflict(appointment)
    added = _service_lines(
        appointment, lines, prices_from(unpriced, price_rows[0]) if unpriced else {}
    )
    status = AppointmentStatusChange(
        appointment=appointment, to_status=appointment.status, changed_by=by
    )
    event = events.outbox_event(
        "appointment.created", appointment, event_payload(appointment, lines=added), actor=by
    )
    # The lines and the status row go with the audit chain's lock, the outbox event with
    # the audit entry: two round trips for five writes.
    audit.record_created(
        actor=by,
        obj=appointment,
        patient_id=patient.pk,
        along=[Insert(added), Insert([status])] if added else [Insert([status])],
        after=[Insert([event])],
    )
    events.published(event)
    _announce_visit(appointment)
    return appointment


@transaction.atomic
def appointment_move(
    *,
    appointment: Appointment,
    by: User,
    start: datetime.datetime,
    end: datetime.datetime,
    chair: Chair | None = None,
    doctor: Employee | None = None,
    allow_outside_shift: bool = False,
) -> Appointment:
    """Move to another time, chair or doctor (drag, resize, or the "move patient" dialog)."""
    _validate_times(start, end)
    current = (
        Appointment.objects.select_for_update(no_key=True, of=("self",))
        .select_related("branch", "chair")
        .get(pk=appointment.pk)
    )
    if current.status == StatusCode.CANCELLED:
        raise ValidationError(
            _("A cancelled visit cannot be moved; book a new one."), code="invalid"
        )
    chair = chair or current.chair
    doctor = doctor or current.doctor
    removed = _lock_resources({current.chair, chair}, {current.doctor, doctor})[0]
    _refuse_removed(removed, chair=chair, doctor=doctor)
    _check_slot(
        chair=chair,
        doctor=doctor,
        start=start,
        end=end,
        exclude_pk=current.pk,
        allow_outside_shift=allow_outside_shift,
        # A visit stays where it is even if its doctor has since left the branch.
        require_works_here=chair.branch_id != current.branch_id,
    )
    before = audit.snapshot(current, ["start", "end", "chair", "doctor", "branch"])
    old_days = {local_day(current.start, current.branch)}
    old_branch_id, old_doctor_id = current.branch_id, current.doctor_id
    current.start, current.end, current.chair, current.doctor, current.branch = (
        start,
        end,
        chair,
        doctor,
        chair.branch,
    )
    _save_or_conflict(
        current, update_fields=["start", "end", "chair", "doctor", "branch", "updated_at"]
    )
    changes = audit.diff(before, audit.snapshot(current, before.keys()))
    if changes:
        _record_update(current, by=by, changes=changes)
    new_day = local_day(start, chair.branch)
    if old_branch_id != chair.branch_id:
        _announce(old_branch_id, old_days, [old_doctor_id], {"reload": True})
        old_days = set()
    _announce(
        chair.branch_id,
        old_days | {new_day},
        {old_doctor_id, doctor.pk},
        {"reload": True, "appointment_id": current.pk},
    )
    return current


ALLOWED_STATUSES = {code for code in StatusCode if code != StatusCode.CANCELLED}


@transaction.atomic
def appointment_set_status(
    *, appointment: Appointment, by: User | None, status: str
) -> Appointment:
    if status not in ALLOWED_STATUSES:
        raise ValidationError(_("Unknown status."), code="invalid")
    current = (
        Appointment.objects.select_for_update(no_key=True, of=("self",))
        .select_related("branch")
        .get(pk=appointment.pk)
    )
    if current.status == status:
        return current
    if current.status == StatusCode.CANCELLED:
        # Bringing a cancelled visit back claims its time again: it must still be free, and
        # its chair, doctor and patient still there.
        removed = _lock_resources([current.chair], [current.doctor], current.patient)[0]
        _refuse_removed(
            removed, chair=current.chair, doctor=current.doctor, patient=current.patient
        )
        _check_free(
            chair=current.chair,
            doctor=current.doctor,
            start=current.start,
            end=current.end,
            exclude_pk=current.pk,
        )
    previous = current.status
    current.status = status
    current.cancel_reason, current.cancelled_at = "", None
    _save_or_conflict(
        current, update_fields=["status", "cancel_reason", "cancelled_at", "updated_at"]
    )
    AppointmentStatusChange.objects.create(
        appointment=current, from_status=previous, to_status=status, changed_by=by
    )
    audit.record(
        actor=by,
        action="update",
        obj=current,
        patient_id=current.patient_id,
        changes={"status": [previous, status]},
    )
    events.publish(
        "appointment.status_changed",
        current,
        event_payload(current, previous_status=previous),
        actor=by,
    )
    _announce_visit(current)
    return current


@transaction.atomic
def appointment_cancel(*, appointment: Appointment, by: User | None, reason: str) -> Appointment:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the visit is cancelled.")})
    current = (
        Appointment.objects.select_for_update(no_key=True, of=("self",))
        .select_related("branch")
        .get(pk=appointment.pk)
    )
    if current.status == StatusCode.CANCELLED:
        return current
    previous = current.status
    current.status, current.cancel_reason, current.cancelled_at = (
        StatusCode.CANCELLED,
        reason,
        timezone.now(),
    )
    current.save(update_fields=["status", "cancel_reason", "cancelled_at", "updated_at"])
    AppointmentStatusChange.objects.create(
        appointment=current,
        from_status=previous,
        to_status=StatusCode.CANCELLED,
        reason=reason,
        changed_by=by,
    )
    audit.record(
        actor=by,
        action="update",
        obj=current,
        patient_id=current.patient_id,
        changes={"status": [previous, StatusCode.CANCELLED], "cancel_reason": ["", reason]},
    )
    events.publish(
        "appointment.cancelled",
        current,
        event_payload(current, previous_status=previous, reason=reason),
        actor=by,
    )
    _announce_visit(current)
    return current


def _record_update(appointment: Appointment, *, by: User, changes: dict[str, list]) -> None:
    """The audit entry and the ``appointment.updated`` event of a change (move or edit)."""
    audit.record(
        actor=by,
        action="update",
        obj=appointment,
        changes=changes,
        patient_id=appointment.patient_id,
    )
    events.publish(
        "appointment.updated",
        appointment,
        event_payload(appointment, changed=sorted(changes)),
        actor=by,
    )


@transaction.atomic
def appointment_update(
    *,
    appointment: Appointment,
    by: User,
    services: Iterable[Service | Line] | None = None,
    note: str | None = None,
    visit_type: str | None = None,
) -> Appointment:
    """Edit what the visit is for (not when: that is a move)."""
    current = (
        Appointment.objects.select_for_update(no_key=True, of=("self",))
        .select_related("branch")
        .get(pk=appointment.pk)
    )
    changes: dict[str, list] = {}
    fields = []
    if note is not None and note != current.note:
        changes["note"], current.note = [current.note, note], note
        fields.append("note")
    if visit_type is not None and visit_type != current.visit_type:
        changes["visit_type"], current.visit_type = [current.visit_type, visit_type], visit_type
        fields.append("visit_type")
    if fields:
        current.full_clean(exclude=["branch"])
        current.save(update_fields=[*fields, "updated_at"])
    if services is not None:
        changes.update(_set_services(current, as_lines(services)) or {})
    if changes:
        _record_update(current, by=by, changes=changes)
        _announce_visit(current)
    return current


@transaction.atomic
def appointment_edit(
    *,
    appointment: Appointment,
    by: User,
    start: datetime.datetime,
    end: datetime.datetime,
    chair: Chair,
    doctor: Employee,
    services: Iterable[Service | Line],
    note: str,
    visit_type: str | None = None,
    allow_outside_shift: bool = False,
) -> Appointment:
    """The visit dialog's save: when and where, and what for, all or nothing.

    A taken time (or a shift the user has not confirmed leaving) refuses the whole edit:
    the note and the services are not saved either, nor audited, nor announced."""
    current = Appointment.objects.select_for_update(no_key=True, of=("self",)).get(
        pk=appointment.pk
    )
    if (start, end, chair.pk, doctor.pk) != (
        current.start,
        current.end,
        current.chair_id,
        current.doctor_id,
    ):
        current = appointment_move(
            appointment=current,
            by=by,
            start=start,
            end=end,
            chair=chair,
            doctor=doctor,
            allow_outside_shift=allow_outside_shift,
        )
    return appointment_update(
        appointment=current, by=by, services=services, note=note, visit_type=visit_type
    )


def appointment_delete(*, appointment: Appointment, by: User) -> None:
    """To the recycle bin: the time is freed; restoring checks that it is still free."""
    with transaction.atomic():
        clinic_services.object_soft_delete(obj=appointment, by=by)
        _announce_visit(appointment)


def appointment_restoring(appointment: Appointment) -> None:
    """Recycle-bin hook: a deleted visit comes back only if its time is still free and its
    chair, doctor and patient are still there (a cancelled one frees its time: no check)."""
    if appointment.status != StatusCode.CANCELLED:
        removed = _lock_resources([appointment.chair], [appointment.doctor], appointment.patient)[0]
        _refuse_removed(
            removed,
            chair=appointment.chair,
            doctor=appointment.doctor,
            patient=appointment.patient,
        )
        _check_free(
            chair=appointment.chair,
            doctor=appointment.doctor,
            start=appointment.start,
            end=appointment.end,
            exclude_pk=appointment.pk,
        )


# --- Work shifts -----------------------------------------------------------------------


def _shift_conflict(shift: WorkShift) -> None:
    clash = (
        WorkShift.objects.overlapping(shift.start, shift.end)
        .filter(Q(doctor=shift.doctor) | Q(chair=shift.chair))
        .exclude(pk=shift.pk)
        .select_related("doctor", "chair")
        .first()
    )
    if clash is None:
        return
    zone = shift.chair.branch.zone
    start, end = timezone.localtime(clash.start, zone), timezone.localtime(clash.end, zone)
    when = f"{start:%d.%m %H:%M}–{end:%H:%M}"
    if clash.doctor_id == shift.doctor_id:
        raise SlotTaken(
            _("%(doctor)s already has a shift %(when)s.")
            % {"doctor": shift.doctor.short_name, "when": when},
            code="taken",
        )
    raise SlotTaken(
        _("%(chair)s is given to %(doctor)s %(when)s.")
        % {"chair": shift.chair, "doctor": clash.doctor.short_name, "when": when},
        code="taken",
    )


@transaction.atomic
def shift_create(
    *,
    by: User,
    doctor: Employee,
    chair: Chair,
    start: datetime.datetime,
    end: datetime.datetime,
    series=None,
) -> WorkShift:
    _validate_times(start, end, shift=True)
    if not doctor.branches.filter(pk=chair.branch_id).exists():
        _refuse_other_branch(chair=chair, doctor=doctor)
    _refuse_removed(_lock_resources([chair], [doctor])[0], chair=chair, doctor=doctor)
    shift = WorkShift(
        doctor=doctor, chair=chair, branch=chair.branch, start=start, end=end, series=series
    )
    _shift_conflict(shift)
    _save_or_conflict(shift)
    audit.record_created(actor=by, obj=shift)
    events.publish(
        "shift.created",
        shift,
        {
            "doctor_id": doctor.pk,
            "chair_id": chair.pk,
            "branch_id": chair.branch_id,
            "start": start,
            "end": end,
        },
        actor=by,
    )
    _announce(chair.branch_id, [local_day(start, chair.branch)], [doctor.pk], {"reload": True})
    return shift


@transaction.atomic
def shifts_create_pattern(
    *,
    by: User,
    doctor: Employee,
    chair: Chair,
    dates: list[datetime.date],
    time_from: datetime.time,
    time_to: datetime.time,
) -> list[WorkShift]:
    """One shift per date (weekdays, every other day or a range, expanded by the form)."""
    if not dates:
        raise ValidationError(_("The pattern gives no dates."), code="invalid")
    if len(dates) > 370:
        raise ValidationError(_("Create at most a year of shifts at once."), code="invalid")
    zone = chair.branch.zone
    series = new_series()
    return [
        shift_create(
            by=by,
            doctor=doctor,
            chair=chair,
            series=series,
            start=datetime.datetime.combine(day, time_from, tzinfo=zone),
            end=datetime.datetime.combine(day, time_to, tzinfo=zone),
        )
        for day in sorted(dates)
    ]


@transaction.atomic
def shift_move(
    *,
    shift: WorkShift,
    by: User,
    start: datetime.datetime,
    end: datetime.datetime,
    chair: Chair | None = None,
) -> WorkShift:
    _validate_times(start, end, shift=True)
    current = (
        WorkShift.objects.select_for_update(no_key=True, of=("self",))
        .select_related("chair__branch")
        .get(pk=shift.pk)
    )
    chair = chair or current.chair
    if chair.branch_id != current.branch_id:
        raise ValidationError(_("Shifts move within their branch."), code="invalid")
    removed = _lock_resources({current.chair, chair}, [current.doctor])[0]
    _refuse_removed(removed, chair=chair, doctor=current.doctor)
    before = audit.snapshot(current, ["start", "end", "chair"])
    old_day = local_day(current.start, current.chair.branch)
    current.start, current.end, current.chair = start, end, chair
    _shift_conflict(current)
    _save_or_conflict(current, update_fields=["start", "end", "chair"])
    changes = audit.diff(before, audit.snapshot(current, before.keys()))
    if changes:
        audit.record(actor=by, action="update", obj=current, changes=changes)
        events.publish(
            "shift.updated",
            current,
            {
                "doctor_id": current.doctor_id,
                "chair_id": chair.pk,
                "branch_id": chair.branch_id,
                "start": start,
                "end": end,
            },
            actor=by,
        )
    _announce(
        chair.branch_id,
        {old_day, local_day(start, chair.branch)},
        [current.doctor_id],
        {"reload": True},
    )
    return current


def shift_delete(*, shift: WorkShift, by: User) -> None:
    with transaction.atomic():
        clinic_services.object_soft_delete(obj=shift, by=by)
        _announce(
            shift.branch_id,
            [local_day(shift.start, shift.branch)],
            [shift.doctor_id],
            {"reload": True},
        )


def shift_restoring(shift: WorkShift) -> None:
    """Recycle-bin hook: a shift comes back only to a chair and a doctor still there, and
    only if no other shift took its time."""
    removed = _lock_resources([shift.chair], [shift.doctor])[0]
    _refuse_removed(removed, chair=shift.chair, doctor=shift.doctor)
    _shift_conflict(shift)


# --- Waiting list ----------------------------------------------------------------------


@transaction.atomic
def waitlist_add(*, by: User, data: dict[str, Any]) -> WaitingListEntry:
    entry = WaitingListEntry(**data, created_by=by)
    shortest, longest = VISIT_MINUTES
    if entry.duration_minutes is not None and not shortest <= entry.duration_minutes <= longest:
        raise ValidationError(
            {
                "duration_minutes": _("A visit lasts from %(shortest)s to %(longest)s minutes.")
                % {"shortest": shortest, "longest": longest}
            }
        )
    entry.full_clean()
    entry.save()
    audit.record_created(actor=by, obj=entry, patient_id=entry.patient_id)
    events.publish(
        "waitlist.added",
        entry,
        {
            "patient_id": entry.patient_id,
            "branch_id": entry.branch_id,
            "doctor_id": entry.doctor_id,
        },
        actor=by,
    )
    transaction.on_commit(lambda: live.broadcast(f"waitlist.{entry.branch_id}", {"reload": True}))
    return entry


@transaction.atomic
def waitlist_book(*, entry: WaitingListEntry, by: User, **booking: Any) -> Appointment:
    """Book a visit for a waiting-list entry; the entry is marked booked in the same step."""
    current = WaitingListEntry.objects.select_for_update(no_key=True).get(pk=entry.pk)
    if current.status != WaitlistStatus.WAITING:
        raise ValidationError(_("This waiting-list entry is already booked."), code="invalid")
    appointment = appointment_book(by=by, patient=current.patient, source="waitlist", **booking)
    current.status, current.appointment = WaitlistStatus.BOOKED, appointment
    current.save(update_fields=["status", "appointment"])
    events.publish(
        "waitlist.booked",
        current,
        {"patient_id": current.patient_id, "appointment_id": appointment.pk},
        actor=by,
    )
    transaction.on_commit(lambda: live.broadcast(f"waitlist.{current.branch_id}", {"reload": True}))
    return appointment


def waitlist_restoring(entry: WaitingListEntry) -> None:
    """Recycle-bin hook: an entry comes back only with its patient's card."""
    if Patient.all_objects.filter(pk=entry.patient_id, deleted_at__isnull=False).exists():
        raise ValidationError(
            _("The card of %(patient)s has been deleted.") % {"patient": entry.patient.short_name},
            code="removed",
        )


def waitlist_remove(*, entry: WaitingListEntry, by: User) -> None:
    with transaction.atomic():
        clinic_services.object_soft_delete(obj=entry, by=by)
        transaction.on_commit(
            lambda: live.broadcast(f"waitlist.{entry.branch_id}", {"reload": True})
        )


# --- What deleting a patient, a chair, an employee or a branch cancels -------------------
#
# ``clinic.dependents`` asks these before the delete (the confirmation dialog lists them) and
# has them released in the deleting transaction. Upcoming visits (not finished, not yet
# completed or missed) are cancelled, with the reason on the visit and in the patient's
# history; work shifts not yet started are deleted (to the recycle bin); a deleted patient
# or branch leaves the waiting list. Restoring the object brings none of them back.

UPCOMING = [StatusCode.PLANNED, StatusCode.CONFIRMED, StatusCode.ARRIVED, StatusCode.IN_CHAIR]


def upcoming_visits(**filters: Any):
    return (
        Appointment.objects.filter(status__in=UPCOMING, end__gt=timezone.now(), **filters)
        .select_related("patient", "doctor", "chair", "branch")
        .order_by("start", "pk")
    )


def future_shifts(**filters: Any):
    return (
        WorkShift.objects.filter(start__gte=timezone.now(), **filters)
        .select_related("doctor", "chair", "branch")
        .order_by("start", "pk")
    )


def waiting_entries(**filters: Any):
    return WaitingListEntry.objects.filter(status=WaitlistStatus.WAITING, **filters).select_related(
        "patient", "branch"
    )


def _visit_dependent(visit: Appointment) -> Dependent:
    return Dependent(
        key=f"appointment:{visit.pk}",
        kind=_("Visit"),
        start=visit.start,
        end=visit.end,
        branch_id=visit.branch_id,
        branch=visit.branch.name,
        zone=visit.branch.zone,
        who=f"{visit.patient.short_name} · {visit.doctor.short_name}",
        where=str(visit.chair),
    )


def _shift_dependent(shift: WorkShift) -> Dependent:
    return Dependent(
        key=f"shift:{shift.pk}",
        kind=_("Work shift"),
        start=shift.start,
        end=shift.end,
        branch_id=shift.branch_id,
        branch=shift.branch.name,
        zone=shift.branch.zone,
        who=shift.doctor.short_name,
        where=str(shift.chair),
    )


def _waiting_dependent(entry: WaitingListEntry) -> Dependent:
    return Dependent(
        key=f"waitlist:{entry.pk}",
        kind=_("Waiting list"),
        start=None,
        end=None,
        branch_id=entry.branch_id,
        branch=entry.branch.name,
        zone=entry.branch.zone,
        who=entry.patient.short_name,
    )


def _lock_rows(*querysets) -> None:
    """Lock the rows a deletion will change, in id order, before the deleted object and
    before any of them changes: changing one takes the audit chain's lock, and waiting for
    another row while holding it would deadlock against a status change."""
    for rows in querysets:
        list(rows.select_for_update(no_key=True, of=("self",)).order_by("pk").values_list("pk"))


def _cancel_and_remove(*, by: User, reason: str, visits, shifts=None, entries=None) -> None:
    """Cancel the visits and delete the shifts and entries (``_lock_rows`` locked them)."""
    visits, shifts, entries = list(visits), list(shifts or []), list(entries or [])
    for visit in visits:
        appointment_cancel(appointment=visit, by=by, reason=reason)
    for shift in shifts:
        shift_delete(shift=shift, by=by)
    for entry in entries:
        waitlist_remove(entry=entry, by=by)


def patient_lock(patient: Patient) -> None:
    _lock_rows(upcoming_visits(patient=patient), waiting_entries(patient=patient))


def patient_dependents(patient: Patient) -> list[Dependent]:
    return [_visit_dependent(v) for v in upcoming_visits(patient=patient)] + [
        _waiting_dependent(e) for e in waiting_entries(patient=patient)
    ]


def patient_release(patient: Patient, *, by: User) -> None:
    _cancel_and_remove(
        by=by,
        reason=_("The patient's card was deleted."),
        visits=upcoming_visits(patient=patient),
        entries=waiting_entries(patient=patient),
    )


def chair_lock(chair: Chair) -> None:
    _lock_rows(upcoming_visits(chair=chair), future_shifts(chair=chair))


def chair_dependents(chair: Chair) -> list[Dependent]:
    return [_visit_dependent(v) for v in upcoming_visits(chair=chair)] + [
        _shift_dependent(s) for s in future_shifts(chair=chair)
    ]


def chair_release(chair: Chair, *, by: User) -> None:
    _cancel_and_remove(
        by=by,
        reason=_("The chair was deleted."),
        visits=upcoming_visits(chair=chair),
        shifts=future_shifts(chair=chair),
    )


def employee_lock(employee: Employee) -> None:
    _lock_rows(upcoming_visits(doctor=employee), future_shifts(doctor=employee))


def employee_dependents(employee: Employee) -> list[Dependent]:
    return [_visit_dependent(v) for v in upcoming_visits(doctor=employee)] + [
        _shift_dependent(s) for s in future_shifts(doctor=employee)
    ]


def employee_release(employee: Employee, *, by: User) -> None:
    _cancel_and_remove(
        by=by,
        reason=_("The doctor was deactivated."),
        visits=upcoming_visits(doctor=employee),
        shifts=future_shifts(doctor=employee),
    )


def branch_lock(branch: Branch) -> None:
    _lock_rows(
        upcoming_visits(branch=branch), future_shifts(branch=branch), waiting_entries(branch=branch)
    )


def branch_dependents(branch: Branch) -> list[Dependent]:
    return (
        [_visit_dependent(v) for v in upcoming_visits(branch=branch)]
        + [_shift_dependent(s) for s in future_shifts(branch=branch)]
        + [_waiting_dependent(e) for e in waiting_entries(branch=branch)]
    )


def branch_release(branch: Branch, *, by: User) -> None:
    _cancel_and_remove(
        by=by,
        reason=_("The branch was deleted."),
        visits=upcoming_visits(branch=branch),
        shifts=future_shifts(branch=branch),
        entries=waiting_entries(branch=branch),
    )
