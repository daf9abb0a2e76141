"""Demo calendar: shifts for every doctor over the past three months and the next four
weeks, visits over the past three months and the next two weeks, a few waiting patients."""

import datetime
import random
from collections import defaultdict

from django.db.models import Max
from django.utils import timezone

from calendar_app.models import (
    Appointment,
    AppointmentService,
    AppointmentStatusChange,
    StatusCode,
    VisitType,
    WaitingListEntry,
    WorkShift,
)
from clinic.models import Branch, Employee, ProfessionKind
from patients.models import Patient, PatientEvent
from pricelist.models import Service
from pricelist.prices import prices_for

PAST_DAYS = 91
SHIFT_DAYS_AHEAD = 28
VISIT_DAYS_AHEAD = 14
STEP = datetime.timedelta(minutes=15)


def _round_up(minutes: int) -> datetime.timedelta:
    quarters = max(2, -(-minutes // 15))
    return STEP * quarters


def _doctor_days(
    doctor: Employee, branch: Branch, branches: list[Branch], rng: random.Random
) -> set[int]:
    """Weekdays (0 = Monday) a doctor works in a branch: five of six, split between branches."""
    if len(doctor._branch_ids) > 1:  # type: ignore[attr-defined]
        return {0, 2, 4} if branch == branches[0] else {1, 3, 5}
    day_off = doctor.pk % 6
    return {d for d in range(6) if d != day_off}


def seed_calendar(log, seed: int = 2026) -> None:
    if WorkShift.all_objects.exists():
        log("calendar: already there")
        return
    rng = random.Random(seed)
    branches = list(Branch.objects.order_by("position"))
    doctors = list(
        Employee.objects.filter(kind=ProfessionKind.DOCTOR).prefetch_related(
            "professions", "branches"
        )
    )
    for doctor in doctors:
        doctor._branch_ids = {b.pk for b in doctor.branches.all()}  # type: ignore[attr-defined]
    services_by_profession: dict[int | None, list[Service]] = defaultdict(list)
    for service in Service.objects.all():
        services_by_profession[service.profession_id].append(service)
    now = timezone.now()
    shifts: list[WorkShift] = []
    visits: list[Appointment] = []
    visit_services: list[list[Service]] = []
    for branch in branches:
        zone = branch.zone
        chairs = list(branch.chairs.order_by("position"))
        local_doctors = [d for d in doctors if branch.pk in d._branch_ids]  # type: ignore[attr-defined]
        patients = list(Patient.objects.filter(branch=branch).values_list("pk", flat=True)) or list(
            Patient.objects.values_list("pk", flat=True)
        )
        if not chairs or not local_doctors or not patients:
            continue
        today = timezone.localtime(now, zone).date()
        opens = datetime.datetime.combine(today, branch.opens_at)
        closes = datetime.datetime.combine(today, branch.closes_at)
        middle = (opens + (closes - opens) / 2).time().replace(minute=0)
        for offset in range(-PAST_DAYS, SHIFT_DAYS_AHEAD + 1):
            day = today + datetime.timedelta(days=offset)
            working = [
                d for d in local_doctors if day.weekday() in _doctor_days(d, branch, branches, rng)
            ]
            split = len(working) > len(chairs)
            for index, doctor in enumerate(working[: len(chairs) * 2]):
                chair = chairs[index % len(chairs)]
                if not split:
                    start_time, end_time = (
                        branch.opens_at,
                        (
                            datetime.datetime.combine(day, branch.opens_at)
                            + datetime.timedelta(hours=9)
                        ).time(),
                    )
                elif index < len(chairs):
                    start_time, end_time = branch.opens_at, middle
                else:
                    start_time, end_time = middle, branch.closes_at
                start = datetime.datetime.combine(day, start_time, tzinfo=zone)
                end = datetime.datetime.combine(day, end_time, tzinfo=zone)
                shifts.append(
                    WorkShift(doctor=doctor, chair=chair, branch=branch, start=start, end=end)
                )
                if offset > VISIT_DAYS_AHEAD:
                    continue
                # Fill the shift: busier in the past, thinning out further ahead.
                fill = 0.85 if offset <= 0 else max(0.25, 0.8 - offset * 0.04)
                profession_ids = [p.pk for p in doctor.professions.all()]
                menu = (
                    [s for pid in profession_ids for s in services_by_profession.get(pid, [])]
                    or services_by_profession.get(None, [])
                    or list(Service.objects.all()[:10])
                )
                cursor = start
                while cursor < end:
                    if rng.random() > fill:
                        cursor += STEP * rng.choice([2, 3, 4])
                        continue
                    chosen = rng.sample(menu, k=min(len(menu), rng.choice([1, 1, 1, 2])))
                    length = _round_up(sum(s.duration_minutes for s in chosen))
                    if cursor + length > end:
                        break
                    visit_end = cursor + length
                    if visit_end <= now:
                        roll = rng.random()
                        status = (
                            StatusCode.COMPLETED
                            if roll < 0.85
                            else (StatusCode.NO_SHOW if roll < 0.9 else StatusCode.CANCELLED)
                        )
                    elif cursor <= now:
                        status = StatusCode.IN_CHAIR
                    elif offset == 0 and cursor - now < datetime.timedelta(minutes=40):
                        status = StatusCode.ARRIVED
                    else:
                        status = StatusCode.CONFIRMED if rng.random() < 0.4 else StatusCode.PLANNED
                    visits.append(
                        Appointment(
                            patient_id=rng.choice(patients),
                            doctor=doctor,
                            chair=chair,
                            branch=branch,
                            start=cursor,
                            end=visit_end,
                            status=status,
                            source="demo",
                            cancel_reason="Пациент попросил перенести"
                            if status == StatusCode.CANCELLED
                            else "",
                            cancelled_at=cursor - datetime.timedelta(days=1)
                            if status == StatusCode.CANCELLED
                            else None,
                        )
                    )
                    visit_services.append(chosen)
                    cursor = visit_end
    WorkShift.objects.bulk_create(shifts, batch_size=1000)
    _mark_visit_types(visits)
    Appointment.objects.bulk_create(visits, batch_size=1000)
    # Each branch's prices (its own list where it has one), as booking takes them.
    all_services = {service.pk: service for chosen in visit_services for service in chosen}
    branch_prices = {
        branch.pk: prices_for(all_services.values(), branch=branch, on=timezone.localdate())
        for branch in {visit.branch for visit in visits}
    }
    AppointmentService.objects.bulk_create(
        [
            AppointmentService(
                appointment=visit, service=service, price=branch_prices[visit.branch_id][service.pk]
            )
            for visit, chosen in zip(visits, visit_services, strict=True)
            for service in chosen
        ],
        batch_size=2000,
    )
    AppointmentStatusChange.objects.bulk_create(
        [AppointmentStatusChange(appointment=visit, to_status=visit.status) for visit in visits],
        batch_size=2000,
    )
    _timeline(visits)
    _activity(visits)
    _waiting_list(branches, doctors, rng)
    log(
        f"calendar: {len(shifts)} shifts, {len(visits)} appointments, "
        f"{WaitingListEntry.objects.count()} waiting"
    )


def _mark_visit_types(visits: list[Appointment]) -> None:
    seen: set[int] = set()
    for visit in sorted(visits, key=lambda v: v.start):
        visit.visit_type = VisitType.RETURNING if visit.patient_id in seen else VisitType.PRIMARY
        if visit.status != StatusCode.CANCELLED:
            seen.add(visit.patient_id)


def _timeline(visits: list[Appointment]) -> None:
    events = []
    for visit in visits:
        zone = visit.branch.zone
        payload = {
            "patient_id": visit.patient_id,
            "appointment_id": visit.pk,
            "doctor": visit.doctor.short_name,
            "start_display": f"{timezone.localtime(visit.start, zone):%d.%m.%Y %H:%M}",
            "status": visit.status,
            "reason": visit.cancel_reason,
        }
        booked_at = min(visit.start - datetime.timedelta(days=3), timezone.now())
        events.append(
            PatientEvent(
                patient_id=visit.patient_id,
                source_event_id=-visit.pk,
                name="appointment.created",
                occurred_at=booked_at,
                payload=payload,
            )
        )
        if visit.status in (StatusCode.COMPLETED, StatusCode.NO_SHOW):
            events.append(
                PatientEvent(
                    patient_id=visit.patient_id,
                    source_event_id=-visit.pk - 10**9,
                    name="appointment.status_changed",
                    occurred_at=visit.end,
                    payload=payload,
                )
            )
        elif visit.status == StatusCode.CANCELLED:
            events.append(
                PatientEvent(
                    patient_id=visit.patient_id,
                    source_event_id=-visit.pk - 10**9,
                    name="appointment.cancelled",
                    occurred_at=visit.cancelled_at or visit.start,
                    payload=payload,
                )
            )
    PatientEvent.objects.bulk_create(events, batch_size=2000, ignore_conflicts=True)


def _activity(visits: list[Appointment]) -> None:
    latest = (
        Appointment.objects.filter(status=StatusCode.COMPLETED)
        .values("patient_id")
        .annotate(last=Max("end"))
    )
    for row in latest:
        Patient.objects.filter(pk=row["patient_id"], last_activity_at__lt=row["last"]).update(
            last_activity_at=row["last"]
        )


def _waiting_list(branches: list[Branch], doctors: list[Employee], rng: random.Random) -> None:
    comments = [
        "Хочет к этому врачу",
        "Только после работы",
        "Болит зуб, просит пораньше",
        "Гигиена перед отпуском",
        "Консультация по брекетам",
        "",
    ]
    for branch in branches:
        local = [d for d in doctors if branch.pk in d._branch_ids]  # type: ignore[attr-defined]
        patients = list(Patient.objects.filter(branch=branch).values_list("pk", flat=True)[:200])
        for index in range(5):
            if not patients:
                break
            doctor = rng.choice(local) if local and index % 2 == 0 else None
            WaitingListEntry.objects.create(
                patient_id=rng.choice(patients),
                branch=branch,
                doctor=doctor,
                profession=None
                if doctor
                else rng.choice(local).professions.first()
                if local
                else None,
                duration_minutes=rng.choice([30, 45, 60]),
                preferred_weekdays=sorted(rng.sample(range(6), k=rng.choice([2, 3, 5]))),
                preferred_time_from=datetime.time(rng.choice([9, 12, 15]))
                if index % 3 == 0
                else None,
                preferred_time_to=datetime.time(20) if index % 3 == 0 else None,
                comment=rng.choice(comments),
            )
