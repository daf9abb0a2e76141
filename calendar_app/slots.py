"""The slot finder: where can a visit of N minutes go, with whom, on which chair.

One function serves the calendar, the waiting list, the JSON API, and later the amoCRM
widget and online booking. A slot is a start time on the clinic's step grid (counted from
local midnight in the branch's time zone) such that the whole visit fits inside a shift of
the doctor, and neither the doctor nor the shift's chair has another occupying visit then.

Two queries whatever the range (``load_availability``): the shifts in the window, and the busy
intervals of those doctors and chairs. The rest is interval arithmetic in UTC
(``Availability.slots``).
"""

import bisect
import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from calendar_app.models import LONGEST, Appointment, WorkShift
from clinic import preferences
from clinic.models import Employee
from pricelist.models import Service

UTC = datetime.UTC


@dataclass(frozen=True, order=True)
class Slot:
    start: datetime.datetime
    end: datetime.datetime
    doctor_id: int
    chair_id: int
    branch_id: int


Interval = tuple[datetime.datetime, datetime.datetime]


def step_minutes() -> int:
    return int(preferences.get("calendar.slot_step_minutes"))


def duration_of_services(service_ids: Iterable[int]) -> datetime.timedelta:
    """The sum of the services' durations (each service counted once per id given)."""
    ids = list(service_ids)
    if not ids:
        return datetime.timedelta(0)
    durations = dict(Service.objects.filter(pk__in=set(ids)).values_list("pk", "duration_minutes"))
    return datetime.timedelta(minutes=sum(durations.get(pk, 0) for pk in ids))


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def free_intervals(window: Interval, busy: list[Interval]) -> list[Interval]:
    """``window`` minus the (merged) busy intervals."""
    free: list[Interval] = []
    cursor, window_end = window
    for start, end in _merge(busy):
        if end <= cursor or start >= window_end:
            continue
        if start > cursor:
            free.append((cursor, start))
        cursor = max(cursor, end)
        if cursor >= window_end:
            break
    if cursor < window_end:
        free.append((cursor, window_end))
    return free


class BusyIntervals:
    """One doctor's or chair's busy intervals, sorted, so that a shift takes only those that
    can overlap it (none is longer than ``LONGEST``) instead of the whole window's."""

    def __init__(self, intervals: list[Interval]):
        self.intervals = sorted(intervals)
        self.starts = [start for start, _end in self.intervals]

    def around(self, window: Interval) -> list[Interval]:
        first = bisect.bisect_right(self.starts, window[0] - LONGEST)
        return self.intervals[first : bisect.bisect_left(self.starts, window[1])]


NOTHING = BusyIntervals([])


def grid_starts(
    free: Interval,
    duration: datetime.timedelta,
    step: datetime.timedelta,
    origin: datetime.datetime,
) -> Iterable[datetime.datetime]:
    """Start times on the grid ``origin + k*step`` whose whole visit fits in ``free``."""
    start, end = free
    offset = (start - origin) % step
    candidate = start if offset == datetime.timedelta(0) else start + (step - offset)
    while candidate + duration <= end:
        yield candidate
        candidate += step


ShiftRow = tuple[int, int, int, datetime.datetime, datetime.datetime, str]


@dataclass
class Availability:
    """What the finder reads for a range of local dates: the work shifts, and the busy
    intervals of their doctors and chairs. Several searches over the same branch and range
    (the waiting list's suggestions) read it once and ask ``slots`` for each."""

    date_from: datetime.date
    date_to: datetime.date
    now: datetime.datetime
    shifts: list[ShiftRow]
    doctors_busy: dict[int, BusyIntervals]
    chairs_busy: dict[int, BusyIntervals]
    # Only when loaded with ``professions=True``: doctor id -> their professions' ids.
    professions: dict[int, set[int]] | None = None

    def slots(
        self,
        *,
        duration: datetime.timedelta,
        step: datetime.timedelta,
        doctor_id: int | None = None,
        profession_id: int | None = None,
        weekdays: set[int] | None = None,
        time_from: datetime.time | None = None,
        time_to: datetime.time | None = None,
        limit: int | None = None,
        per_doctor_day: int | None = None,
    ) -> list[Slot]:
        """``per_doctor_day`` keeps each doctor's earliest N starts of each local day (a wide
        search shows a few per doctor and day, and does not build the thousands it hides)."""
        if duration <= datetime.timedelta(0):
            raise ValueError("duration must be positive")
        if profession_id and self.professions is None:
            raise ValueError("load the availability with professions=True to filter by them")
        date_from, date_to, now = self.date_from, self.date_to, self.now
        professions = self.professions or {}
        slots: list[Slot] = []
        zones: dict[str, zoneinfo.ZoneInfo] = {}
        kept_per_doctor_day: dict[tuple[int, datetime.date], int] = defaultdict(int)
        for shift in self.shifts:
            shift_doctor, shift_chair, shift_branch, shift_start, shift_end, zone_name = shift
            if doctor_id and shift_doctor != doctor_id:
                continue
            if profession_id and profession_id not in professions.get(shift_doctor, ()):
                continue
            zone = zones.setdefault(zone_name, zoneinfo.ZoneInfo(zone_name))
            local_day = shift_start.astimezone(zone).date()
            origin = datetime.datetime.combine(
                local_day, datetime.time.min, tzinfo=zone
            ).astimezone(UTC)
            window = (max(shift_start, now), shift_end)
            if window[0] >= window[1]:
                continue
            doctor_busy = self.doctors_busy.get(shift_doctor, NOTHING)
            chair_busy = self.chairs_busy.get(shift_chair, NOTHING)
            taken = doctor_busy.around(window) + chair_busy.around(window)
            for free in free_intervals(window, taken):
                for start in grid_starts(free, duration, step, origin):
                    local_start = start.astimezone(zone)
                    if not (date_from <= local_start.date() <= date_to):
                        continue
                    if weekdays is not None and local_start.weekday() not in weekdays:
                        continue
                    if time_from and local_start.time() < time_from:
                        continue
                    local_end = (start + duration).astimezone(zone)
                    if time_to and (
                        local_end.date() > local_start.date() or local_end.time() > time_to
                    ):
                        continue
                    if per_doctor_day:
                        doctor_day = (shift_doctor, local_start.date())
                        if kept_per_doctor_day[doctor_day] >= per_doctor_day:
                            continue
                        kept_per_doctor_day[doctor_day] += 1
                    slots.append(
                        Slot(start, start + duration, shift_doctor, shift_chair, shift_branch)
                    )
        slots.sort(key=lambda slot: (slot.start, slot.doctor_id, slot.chair_id))
        return slots[:limit] if limit else slots


def load_availability(
    *,
    date_from: datetime.date,
    date_to: datetime.date,
    branch_id: int | None = None,
    branch_ids: Collection[int] | None = None,
    doctor_id: int | None = None,
    profession_id: int | None = None,
    now: datetime.datetime | None = None,
    exclude_appointment_id: int | None = None,
    professions: bool = False,
) -> Availability:
    """Two queries whatever the range (three with ``professions``)."""
    now = now or timezone.now()
    nothing = Availability(date_from, date_to, now, [], {}, {}, {} if professions else None)
    if date_to < date_from:
        return nothing
    # Shifts are stored in UTC; a day in any Russian zone lies within a day either side.
    window_start = datetime.datetime.combine(
        date_from - datetime.timedelta(days=1), datetime.time.min, tzinfo=UTC
    )
    window_end = datetime.datetime.combine(
        date_to + datetime.timedelta(days=2), datetime.time.min, tzinfo=UTC
    )
    first_moment = max(window_start, now)
    shifts_filter = Q(start__lt=window_end, end__gt=first_moment, start__gt=first_moment - LONGEST)
    if branch_id:
        shifts_filter &= Q(branch_id=branch_id)
    if branch_ids is not None:
        shifts_filter &= Q(branch_id__in=branch_ids)
    if doctor_id:
        shifts_filter &= Q(doctor_id=doctor_id)
    if profession_id:
        shifts_filter &= Q(doctor__professions__id=profession_id)
    shifts: list[ShiftRow] = list(
        WorkShift.objects.filter(
            shifts_filter, doctor__deleted_at__isnull=True, chair__deleted_at__isnull=True
        )
        .values_list("doctor_id", "chair_id", "branch_id", "start", "end", "branch__time_zone")
        .order_by("start", "doctor_id")
    )
    if not shifts:
        return nothing
    doctor_ids = {s[0] for s in shifts}
    chair_ids = {s[1] for s in shifts}
    busy = (
        Appointment.objects.occupying()
        .overlapping(window_start, window_end)
        .filter(Q(doctor_id__in=doctor_ids) | Q(chair_id__in=chair_ids))
    )
    if exclude_appointment_id:
        busy = busy.exclude(pk=exclude_appointment_id)
    busy_by_doctor: dict[int, list[Interval]] = defaultdict(list)
    busy_by_chair: dict[int, list[Interval]] = defaultdict(list)
    for busy_doctor, busy_chair, start, end in busy.values_list(
        "doctor_id", "chair_id", "start", "end"
    ):
        busy_by_doctor[busy_doctor].append((start, end))
        busy_by_chair[busy_chair].append((start, end))
    professions_of: dict[int, set[int]] | None = None
    if professions:
        professions_of = defaultdict(set)
        links = Employee.professions.through.objects.filter(employee_id__in=doctor_ids)
        for employee_id, linked_profession in links.values_list("employee_id", "profession_id"):
            professions_of[employee_id].add(linked_profession)
    return Availability(
        date_from,
        date_to,
        now,
        shifts,
        {doctor: BusyIntervals(busy) for doctor, busy in busy_by_doctor.items()},
        {chair: BusyIntervals(busy) for chair, busy in busy_by_chair.items()},
        professions_of,
    )


def find_slots(
    *,
    date_from: datetime.date,
    date_to: datetime.date,
    duration: datetime.timedelta,
    branch_id: int | None = None,
    branch_ids: Collection[int] | None = None,
    doctor_id: int | None = None,
    profession_id: int | None = None,
    step: datetime.timedelta | None = None,
    now: datetime.datetime | None = None,
    exclude_appointment_id: int | None = None,
    weekdays: set[int] | None = None,
    time_from: datetime.time | None = None,
    time_to: datetime.time | None = None,
    limit: int | None = None,
    per_doctor_day: int | None = None,
) -> list[Slot]:
    """Free start times from ``date_from`` to ``date_to`` (inclusive, local dates).

    ``weekdays`` (0 = Monday) and ``time_from``/``time_to`` narrow the result to a
    patient's preferences (the whole visit lies within the hours). Past times are never
    offered. ``per_doctor_day``: see ``Availability.slots``.
    """
    if duration <= datetime.timedelta(0):
        raise ValueError("duration must be positive")
    availability = load_availability(
        date_from=date_from,
        date_to=date_to,
        branch_id=branch_id,
        branch_ids=branch_ids,
        doctor_id=doctor_id,
        profession_id=profession_id,
        now=now,
        exclude_appointment_id=exclude_appointment_id,
    )
    if not availability.shifts:
        return []
    return availability.slots(
        duration=duration,
        step=step or datetime.timedelta(minutes=step_minutes()),
        weekdays=weekdays,
        time_from=time_from,
        time_to=time_to,
        limit=limit,
        per_doctor_day=per_doctor_day,
    )
