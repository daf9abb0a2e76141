"""Scale data of the calendar: the price list, work shifts, visits with their services,
status history and timeline lines, and the waiting list.

The schedule cannot overlap, by construction: every doctor has a chair of their own
(shared by at most two), each chair gets one long shift (twelve hours) or two halves a day,
each doctor works at most one shift a day (with a day off a week), and a shift's visits
are laid end to end with gaps, all on the 15-minute grid. The exclusion constraints stay in
place during the load and check every row as it arrives.

The number of visits per shift is calibrated so that the total meets the size: history is
as busy as a network's (most of the chair time), the coming weeks thin out. Past visits are
mostly completed, some no-shows and cancellations; today's are in the chair or arriving.
"""

import bisect
import datetime
import importlib
import itertools
import zoneinfo
from array import array
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import transaction

from calendar_app.models import AppointmentStatus, WaitingListEntry, WaitlistStatus
from clinic import scale
from clinic.models import Employee
from patients.scale import EVENT_COLUMNS, EVENT_TABLE
from pricelist.loading import load_price_list
from pricelist.models import Service

STEP = 15
SHIFT_COLUMNS = ["id", "doctor_id", "chair_id", "branch_id", "start", "end", "created_at"]
APPOINTMENT_COLUMNS = [
    "id", "patient_id", "doctor_id", "chair_id", "branch_id", "start", "end", "status",
    "visit_type", "note", "cancel_reason", "cancelled_at", "source", "created_by_id",
    "created_at", "updated_at", "deleted_at", "deleted_by_id",
]  # fmt: skip
LINE_COLUMNS = ["id", "appointment_id", "service_id", "quantity", "price"]
CHANGE_COLUMNS = [
    "id", "appointment_id", "from_status", "to_status", "reason", "changed_at", "changed_by_id",
]  # fmt: skip
STATUSES = ["planned", "confirmed", "arrived", "in_chair", "completed", "no_show", "cancelled"]
PLANNED, CONFIRMED, ARRIVED, IN_CHAIR, COMPLETED, NO_SHOW, CANCELLED = range(7)
CANCEL_REASONS = [
    "Пациент попросил перенести",
    "Пациент заболел",
    "Врач заболел",
    "Перенесено клиникой",
    "Не подтвердил визит",
]
NOTES = ["Первичная консультация", "Контроль после лечения", "Болит зуб справа", "По ДМС"]
CALENDAR_TABLES = [
    "calendar_app_workshift",
    "calendar_app_appointment",
    "calendar_app_appointmentservice",
    "calendar_app_appointmentstatuschange",
]
# Timeline lines are written for the visits of the last year (and the coming weeks): ten
# million lines for five years would cost more of the build than they tell the benchmarks.
TIMELINE_DAYS = 365
PRICE_LIST = Path(settings.BASE_DIR) / "pricelist" / "data" / "dental_services_ru.csv"


def future_fill(offset: int) -> float:
    """How full a day is compared with the past: tomorrow nearly, in three weeks barely."""
    return 1.0 if offset <= 0 else max(0.15, 0.9 - 0.045 * offset)


def ensure_statuses() -> None:
    migration = importlib.import_module("calendar_app.migrations.0002_default_statuses")
    for position, (code, name, color) in enumerate(migration.DEFAULTS, start=1):
        AppointmentStatus.objects.get_or_create(
            code=code, defaults={"name": name, "color": color, "position": position}
        )


class Menu:
    """The services a doctor books, picked with a bias to the short, common ones."""

    def __init__(self, services: list[tuple[int, int, str]]):
        # (service id, minutes on the grid, price), shortest first
        self.items = sorted(services, key=lambda s: s[1])
        self.minutes = [item[1] for item in self.items]
        self.cum = list(itertools.accumulate(1 / m for m in self.minutes))

    def pick(self, rng, at_most: int) -> tuple[int, int, str] | None:
        count = bisect.bisect_right(self.minutes, at_most)
        if count == 0:
            return None
        if count == len(self.items):
            return rng.choices(self.items, cum_weights=self.cum)[0]
        return rng.choices(self.items[:count], cum_weights=self.cum[:count])[0]


def _menus(doctor_professions: dict[int, list[int]]) -> dict[int, Menu]:
    by_profession: dict[int | None, list[tuple[int, int, str]]] = {}
    for pk, minutes, price, profession_id in Service.objects.values_list(
        "pk", "duration_minutes", "price", "profession_id"
    ):
        grid = max(2 * STEP, -(-minutes // STEP) * STEP)
        by_profession.setdefault(profession_id, []).append((pk, grid, str(price)))
    everything = [s for services in by_profession.values() for s in services]
    return {
        doctor: Menu([s for p in professions for s in by_profession.get(p, [])] or everything)
        for doctor, professions in doctor_professions.items()
    }


def _day_shifts(branch: dict, day: datetime.date) -> list[tuple[int, int, int, int]]:
    """(doctor, chair, start, end) of one branch-day; times in minutes from local midnight.

    Every doctor has a chair of their own, shared by at most two: when both work that day
    they take the morning and the evening, alternating; one alone takes a long shift.
    """
    opens = branch["opens"].hour * 60 + branch["opens"].minute
    closes = branch["closes"].hour * 60 + branch["closes"].minute
    middle = opens + (closes - opens) // 60 * 30
    ordinal = day.toordinal()
    chairs, doctors = branch["chairs"], branch["doctors"]
    shifts = []
    for index, chair in enumerate(chairs):
        home = [
            doctor
            for number, doctor in enumerate(doctors)
            if number % len(chairs) == index and (ordinal + number) % 7 != 0  # a day off a week
        ]
        if len(home) >= 2:
            early, late = home[:2] if ordinal % 2 else home[1::-1]
            shifts.append((early, chair, opens, middle))
            shifts.append((late, chair, middle, closes))
        elif home:
            doctor = home[0]
            long_start = max(opens, closes - 12 * 60) if doctor % 2 else opens
            shifts.append((doctor, chair, long_start, min(closes, long_start + 12 * 60)))
    return shifts


def generate_calendar(ctx: scale.ScaleContext) -> None:
    size = ctx.size
    with transaction.atomic():
        ensure_statuses()
        categories, services = load_price_list(PRICE_LIST)
    ctx.say(f"calendar: price list, {categories} categories, {services} services")
    branches = ctx.shared["branches"]
    menus = _menus(ctx.shared["doctor_professions"])
    today = ctx.today
    now_m = scale.epoch_minutes(ctx.now)
    first_day = today - datetime.timedelta(days=size.days_back)
    days = [
        first_day + datetime.timedelta(days=n)
        for n in range(size.days_back + size.shift_days_ahead + 1)
    ]

    # 1. Shifts, and how much visit time they offer (to calibrate the visit count).
    shifts: list[tuple[int, int, int, int, int, int, float]] = []
    capacity = 0.0
    for day in days:
        offset = (day - today).days
        for number, branch in enumerate(branches):
            zone = zoneinfo.ZoneInfo(branch["zone"])
            midnight = scale.epoch_minutes(datetime.datetime.combine(day, datetime.time(), zone))
            fill = future_fill(offset) if offset <= size.visit_days_ahead else 0.0
            for doctor, chair, start, end in _day_shifts(branch, day):
                shifts.append(
                    (number, doctor, chair, midnight + start, midnight + end, offset, fill)
                )
                capacity += (end - start) * fill
    per_minute = size.appointments / capacity if capacity else 0.0

    def shift_lines() -> Iterator[tuple[int, str]]:
        for pk, (number, doctor, chair, start, end, _offset, _fill) in enumerate(shifts, 1):
            created = scale.stamp(min(start - 20 * 1440, now_m))
            branch_id = branches[number]["id"]
            yield (
                number,
                f"{pk}\t{doctor}\t{chair}\t{branch_id}\t{scale.stamp(start)}\t{scale.stamp(end)}\t{created}\n",
            )

    # 2. Visits, laid end to end inside each shift. What the later tables need is kept in
    # compact arrays, so that each table is written by its own COPY.
    rng = ctx.rng("visits")
    patient_of, doctor_of, local_start, status_of = array("i"), array("i"), array("i"), array("b")
    created_of, changed_of, user_of = array("i"), array("i"), array("i")
    line_visit, line_service, line_price = array("i"), array("i"), []
    seen = bytearray(ctx.size.patients + 1)
    patients_by_branch = ctx.shared["patients_by_branch"]
    offsets = {}
    N = scale.NULL

    def visit_lines() -> Iterator[tuple[int, str]]:
        pk = 0
        for number, doctor, chair, start, end, offset, fill in shifts:
            if not fill:
                continue
            branch = branches[number]
            expected = per_minute * (end - start) * fill
            count = int(expected) + (rng.random() < expected - int(expected))
            menu = menus[doctor]
            visits: list[list[tuple[int, int, str]]] = []
            room = end - start
            for left in range(count - 1, -1, -1):
                chosen = menu.pick(rng, room - 2 * STEP * left)
                if chosen is None:
                    break
                picked = [chosen]
                room -= chosen[1]
                if rng.random() < 0.15:
                    extra = menu.pick(rng, room - 2 * STEP * left)
                    if extra is not None and extra[0] != chosen[0]:
                        picked.append(extra)
                        room -= extra[1]
                visits.append(picked)
            if not visits:
                continue
            gaps = [0] * (len(visits) + 1)
            for _unit in range(room // STEP):
                gaps[rng.randrange(len(gaps))] += 1
            patients = patients_by_branch[branch["id"]]
            registrar = branch["registrar_user"]
            key = (number, start // 1440)
            if key not in offsets:
                zone = zoneinfo.ZoneInfo(branch["zone"])
                moment = (scale.EPOCH + datetime.timedelta(minutes=start)).astimezone(zone)
                offset_of_zone = moment.utcoffset() or datetime.timedelta(0)
                offsets[key] = int(offset_of_zone.total_seconds()) // 60
            cursor = start + gaps[0] * STEP
            for index, picked in enumerate(visits):
                pk += 1
                visit_start = cursor
                visit_end = cursor + sum(item[1] for item in picked)
                cursor = visit_end + gaps[index + 1] * STEP
                patient = patients[int(len(patients) * rng.random() ** 1.7)]
                created = min(
                    visit_start - rng.randint(0, 20) * 1440, now_m - rng.randint(1, 9) * 60
                )
                roll = rng.random()
                if visit_end <= now_m:
                    status = COMPLETED if roll < 0.86 else NO_SHOW if roll < 0.91 else CANCELLED
                elif visit_start <= now_m:
                    status = IN_CHAIR
                elif offset == 0 and visit_start - now_m < 40:
                    status = ARRIVED
                else:
                    status = CANCELLED if roll < 0.05 else CONFIRMED if roll < 0.4 else PLANNED
                cancelled = status == CANCELLED
                changed = (
                    min(visit_start - 1440, now_m - 30)
                    if cancelled
                    else (visit_end if status in (COMPLETED, NO_SHOW) else created)
                )
                visit_type = "returning" if seen[patient] else "primary"
                if not cancelled:
                    seen[patient] = 1
                deleted = scale.stamp(created + 60) if rng.random() < 0.001 else N
                patient_of.append(patient)
                doctor_of.append(doctor)
                local_start.append(visit_start + offsets[key])
                status_of.append(status)
                created_of.append(created)
                changed_of.append(changed)
                user_of.append(registrar)
                for service, _minutes, price in picked:
                    line_visit.append(pk)
                    line_service.append(service)
                    line_price.append(price)
                yield (
                    number,
                    "\t".join(
                        (
                            str(pk),
                            str(patient),
                            str(doctor),
                            str(chair),
                            str(branch["id"]),
                            scale.stamp(visit_start),
                            scale.stamp(visit_end),
                            STATUSES[status],
                            visit_type,
                            rng.choice(NOTES) if rng.random() < 0.03 else "",
                            rng.choice(CANCEL_REASONS) if cancelled else "",
                            scale.stamp(changed) if cancelled else N,
                            "waitlist" if rng.random() < 0.04 else "calendar",
                            str(registrar),
                            scale.stamp(created),
                            scale.stamp(max(created, min(changed, now_m))),
                            deleted,
                            str(registrar) if deleted != N else N,
                        )
                    )
                    + "\n",
                )
                if pk % 500_000 == 0:
                    ctx.say(f"  visits: {pk:,}")

    def service_lines() -> Iterator[str]:
        for pk, (visit, service, price) in enumerate(
            zip(line_visit, line_service, line_price, strict=True), start=1
        ):
            yield f"{pk}\t{visit}\t{service}\t1\t{price}\n"

    def change_lines() -> Iterator[str]:
        for pk, (status, changed, user) in enumerate(
            zip(status_of, changed_of, user_of, strict=True), start=1
        ):
            reason = "Пациент попросил перенести" if status == CANCELLED else ""
            yield f"{pk}\t{pk}\t\t{STATUSES[status]}\t{reason}\t{scale.stamp(changed)}\t{user}\n"

    doctor_names = {
        pk: f"{last} {first[:1]}. {middle[:1]}.".replace(" .", "")
        for pk, last, first, middle in Employee.objects.values_list(
            "pk", "last_name", "first_name", "middle_name"
        )
    }
    displays: dict[int, str] = {}

    def display(local_m: int) -> str:
        value = displays.get(local_m)
        if value is None:
            moment = scale.EPOCH + datetime.timedelta(minutes=local_m)
            value = displays[local_m] = moment.strftime("%d.%m.%Y %H:%M")
        return value

    timeline_from = now_m - TIMELINE_DAYS * 1440

    def event_lines() -> Iterator[str]:
        pk = ctx.shared["next_event_id"] - 1
        for visit, (patient, doctor, start, status, created, changed) in enumerate(
            zip(patient_of, doctor_of, local_start, status_of, created_of, changed_of, strict=True),
            start=1,
        ):
            if start < timeline_from:
                continue
            reason = "Пациент попросил перенести" if status == CANCELLED else ""
            payload = (
                f'{{"patient_id": {patient}, "appointment_id": {visit}, '
                f'"doctor": "{doctor_names[doctor]}", "start_display": "{display(start)}", '
                f'"status": "{STATUSES[status]}", "reason": "{reason}"}}'
            )
            pk += 1
            moment = scale.stamp(created)
            yield f"{pk}\t{patient}\t{-visit}\tappointment.created\t{moment}\t\t{payload}\n"
            if status in (COMPLETED, NO_SHOW, CANCELLED):
                name = (
                    "appointment.cancelled" if status == CANCELLED else "appointment.status_changed"
                )
                pk += 1
                yield (
                    f"{pk}\t{patient}\t{-visit - 10**9}\t{name}\t{scale.stamp(changed)}\t\t"
                    f"{payload}\n"
                )

    with scale.deferred_indexes(ctx, *CALENDAR_TABLES, EVENT_TABLE):
        # The exclusion constraints stay and check every row as it arrives.
        count = scale.copy_rows_parallel("calendar_app_workshift", SHIFT_COLUMNS, shift_lines())
        ctx.say(f"calendar: {count:,} shifts copied")
        count = scale.copy_rows_parallel(
            "calendar_app_appointment", APPOINTMENT_COLUMNS, visit_lines()
        )
        ctx.say(f"calendar: {count:,} visits copied (target {size.appointments:,})")
        with transaction.atomic():
            count = scale.copy_rows(
                "calendar_app_appointmentservice", LINE_COLUMNS, service_lines()
            )
            ctx.say(f"calendar: {count:,} service lines copied")
            count = scale.copy_rows(
                "calendar_app_appointmentstatuschange", CHANGE_COLUMNS, change_lines()
            )
            ctx.say(f"calendar: {count:,} status changes copied")
            count = scale.copy_rows(EVENT_TABLE, EVENT_COLUMNS, event_lines())
            ctx.say(f"calendar: {count:,} timeline lines copied; indexing")
    with transaction.atomic():
        for table in [*CALENDAR_TABLES, EVENT_TABLE]:
            scale.reset_sequence(table)
        _waiting_list(ctx)
    # For the clinical record's generator: who was seen, by whom, when (local and UTC end).
    ctx.shared["visits"] = {
        "patient": patient_of,
        "doctor": doctor_of,
        "local_start": local_start,
        "status": status_of,
        "changed": changed_of,
        "completed": COMPLETED,
    }


def _waiting_list(ctx: scale.ScaleContext) -> None:
    rng = ctx.rng("waitlist")
    comments = [
        "Хочет к этому врачу",
        "Только после работы",
        "Болит зуб, просит пораньше",
        "Гигиена перед отпуском",
        "Консультация по брекетам",
        "",
    ]
    professions = ctx.shared["doctor_professions"]
    entries = []
    for branch in ctx.shared["branches"]:
        patients = ctx.shared["patients_by_branch"][branch["id"]]
        doctors = branch["doctors"]
        if not patients or not doctors:
            continue
        for index in range(max(3, 4 * len(branch["chairs"]))):
            doctor = rng.choice(doctors) if index % 2 == 0 else None
            evening = index % 3 == 0
            entries.append(
                WaitingListEntry(
                    patient_id=rng.choice(patients),
                    branch_id=branch["id"],
                    doctor_id=doctor,
                    profession_id=None if doctor else professions[rng.choice(doctors)][0],
                    duration_minutes=rng.choice([30, 45, 60]),
                    preferred_weekdays=sorted(rng.sample(range(6), k=rng.choice([2, 3, 5]))),
                    preferred_time_from=datetime.time(17) if evening else None,
                    preferred_time_to=datetime.time(21) if evening else None,
                    comment=rng.choice(comments),
                    status=WaitlistStatus.BOOKED if index % 5 == 4 else WaitlistStatus.WAITING,
                    created_by_id=branch["registrar_user"],
                )
            )
    WaitingListEntry.objects.bulk_create(entries, batch_size=1000)
    ctx.say(f"calendar: {len(entries)} waiting-list entries")


scale.register_generator(
    20,
    "calendar",
    generate_calendar,
    tables=[*CALENDAR_TABLES, "calendar_app_waitinglistentry", "pricelist_service"],
)
