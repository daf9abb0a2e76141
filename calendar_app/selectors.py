"""Reads of the calendar: the feeds EventCalendar loads and the doctor's day.

Times go to and from the calendar as the branch's local wall-clock time without an offset
("2026-11-23T09:30:00"): a Yekaterinburg branch shows Yekaterinburg time to a user in
Moscow, as its front desk expects.
"""

import datetime
import zoneinfo
from typing import Any

from django.core.cache import cache
from django.db.models import Prefetch, Q
from django.utils import timezone

from calendar_app.models import (
    DEFAULT_STATUS_COLORS,
    Appointment,
    AppointmentService,
    AppointmentStatus,
    StatusCode,
    WaitingListEntry,
    WaitlistStatus,
    WorkShift,
)
from clinic.bounds import parse_local_datetime
from clinic.models import Branch, Chair, Employee, sees_every_branch
from clinic.models.people import full_name, short_name
from clinic.phones import format_phone
from clinic.tz import local_day_bounds

LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S"


def to_local(moment: datetime.datetime, zone: zoneinfo.ZoneInfo) -> str:
    return moment.astimezone(zone).strftime(LOCAL_FORMAT)


class LocalTimes(dict):
    """``to_local`` remembered for one answer: a week's two thousand visits start and end at
    a few hundred distinct times."""

    def __init__(self, zone: zoneinfo.ZoneInfo) -> None:
        super().__init__()
        self.zone = zone

    def __missing__(self, moment: datetime.datetime) -> str:
        text = self[moment] = to_local(moment, self.zone)
        return text


class ShortNames(dict):
    """``short_name`` remembered for one answer (the same doctors on every row)."""

    def __missing__(self, parts: tuple[str, str, str]) -> str:
        text = self[parts] = short_name(*parts)
        return text


def parse_local(value: str, zone: zoneinfo.ZoneInfo) -> datetime.datetime:
    """A calendar time ("2026-11-23T09:30:00", or with an offset) as an aware datetime;
    ValueError for garbage and for dates outside ``clinic.bounds.SANE_DATES``."""
    return parse_local_datetime(value, zone)


STATUS_CACHE_KEY = "calendar:status-styles:v1"


def status_styles() -> dict[str, dict[str, str]]:
    """{code: {"name", "color"}} from the reference book, with the defaults as fallback.

    The book's rows are cached (emptied when a status is saved): a patient's timeline asks
    for a status name once per visit line, which would otherwise be a query per line.
    """
    styles: dict[str, dict[str, str]] = {
        code: {"name": str(code.label), "color": DEFAULT_STATUS_COLORS[code]} for code in StatusCode
    }
    rows = cache.get(STATUS_CACHE_KEY)
    if rows is None:
        rows = list(AppointmentStatus.objects.values_list("code", "name", "color"))
        cache.set(STATUS_CACHE_KEY, rows, 300)
    for code, name, color in rows:
        styles[code] = {"name": name, "color": color}
    return styles


def forget_status_styles(**_kwargs: Any) -> None:
    cache.delete(STATUS_CACHE_KEY)


def branch_chairs(branch: Branch) -> list[Chair]:
    return list(Chair.objects.filter(branch=branch).order_by("position", "pk"))


def resources(branch: Branch) -> list[dict[str, Any]]:
    return [{"id": chair.pk, "title": chair.name} for chair in branch_chairs(branch)]


def _window(branch: Branch, start: datetime.date, end: datetime.date):
    window_start, _ = local_day_bounds(start, branch.zone)
    window_end, _ = local_day_bounds(end, branch.zone)
    return window_start, window_end


EVENT_FIELDS = (
    *("id", "chair_id", "start", "end", "status", "visit_type", "note", "patient_id"),
    *(f"patient__{name}" for name in ("last_name", "first_name", "middle_name", "phone")),
    *(f"doctor__{name}" for name in ("last_name", "first_name", "middle_name", "color")),
)


SHIFT_FIELDS = (
    *("id", "chair_id", "start", "end", "doctor_id"),
    *(f"doctor__{name}" for name in ("last_name", "first_name", "middle_name", "color")),
)


def service_names(visits) -> dict[int, list[str]]:
    """{visit id: its services' names in the order they were added}, in one query; the
    visits as a queryset (a subquery: a week's two thousand ids are not sent as values)."""
    names: dict[int, list[str]] = {}
    lines = (
        AppointmentService.objects.filter(appointment__in=visits.values("pk"))
        .order_by("appointment_id", "pk")
        .values_list("appointment_id", "tooth", "service__name")
    )
    for visit_id, tooth, name in lines:
        names.setdefault(visit_id, []).append(f"{name} · {tooth}" if tooth else name)
    return names


def appointment_events(
    branch: Branch,
    start: datetime.date,
    end: datetime.date,
    *,
    profession_id: int | None = None,
    editable: bool = False,
) -> list[dict[str, Any]]:
    """Visits from ``start`` to ``end`` (exclusive local dates), cancelled ones left out.

    A 20-chair week is two thousand visits: they are read as rows, not model instances,
    with their services in one more query.
    """
    window_start, window_end = _window(branch, start, end)
    visits = (
        Appointment.objects.occupying()
        .in_branch(branch)
        .overlapping(window_start, window_end)
        .order_by("start")
    )
    if profession_id:
        visits = visits.filter(doctor__professions__id=profession_id)
    rows = list(visits.values_list(*EVENT_FIELDS))
    services = service_names(visits.order_by()) if rows else {}
    styles = status_styles()
    local = LocalTimes(branch.zone)
    doctor_names = ShortNames()
    locked = {StatusCode.COMPLETED, StatusCode.NO_SHOW}
    events = []
    for row in rows:
        (pk, chair_id, visit_start, visit_end, status, visit_type, note, patient_id) = row[:8]
        patient_last, patient_first, patient_middle, phone = row[8:12]
        doctor_color = row[15]
        style = styles[status]
        events.append(
            {
                "id": f"a{pk}",
                "resourceId": chair_id,
                "start": local[visit_start],
                "end": local[visit_end],
                "title": short_name(patient_last, patient_first, patient_middle),
                "backgroundColor": style["color"],
                "editable": editable and status not in locked,
                "extendedProps": {
                    "kind": "appointment",
                    "id": pk,
                    "patientId": patient_id,
                    "patientName": full_name(patient_last, patient_first, patient_middle),
                    "phone": format_phone(phone),
                    "doctor": doctor_names[row[12:15]],
                    "doctorColor": doctor_color,
                    "status": status,
                    "statusName": style["name"],
                    "visitType": visit_type,
                    "services": services.get(pk, []),
                    "note": note,
                },
            }
        )
    return events


def shift_events(
    branch: Branch,
    start: datetime.date,
    end: datetime.date,
    *,
    profession_id: int | None = None,
    background: bool,
    editable: bool = False,
) -> list[dict[str, Any]]:
    window_start, window_end = _window(branch, start, end)
    shifts = (
        WorkShift.objects.filter(branch=branch)
        .overlapping(window_start, window_end)
        .order_by("start")
    )
    if profession_id:
        shifts = shifts.filter(doctor__professions__id=profession_id)
    local = LocalTimes(branch.zone)
    doctor_names = ShortNames()
    events = []
    for pk, chair_id, shift_start, shift_end, doctor_id, *doctor, color in shifts.values_list(
        *SHIFT_FIELDS
    ):
        name = doctor_names[tuple(doctor)]
        event: dict[str, Any] = {
            "id": f"s{pk}",
            "resourceId": chair_id,
            "start": local[shift_start],
            "end": local[shift_end],
            "title": name,
            "extendedProps": {"kind": "shift", "id": pk, "doctorId": doctor_id, "doctor": name},
        }
        if background:
            event.update(display="background", backgroundColor=f"{color}22", editable=False)
        else:
            event.update(backgroundColor=color, editable=editable)
        events.append(event)
    return events


def doctors_in_branch(branch: Branch) -> list[Employee]:
    return list(
        Employee.objects.doctors().filter(branches=branch).order_by("last_name", "first_name")
    )


def doctor_on_shift(chair: Chair, moment: datetime.datetime) -> Employee | None:
    shift = (
        WorkShift.objects.filter(chair=chair, start__lte=moment, end__gt=moment)
        .select_related("doctor")
        .first()
    )
    return shift.doctor if shift else None


def waiting_list(branch: Branch) -> list[WaitingListEntry]:
    return list(
        WaitingListEntry.objects.filter(branch=branch, status=WaitlistStatus.WAITING)
        .select_related("patient", "doctor", "profession")
        .order_by("created_at")
    )


def doctor_day(
    doctor: Employee, day: datetime.date, zone: zoneinfo.ZoneInfo, *, user
) -> list[Appointment]:
    """The doctor's visits of a day in the branches ``user`` sees."""
    start, end = local_day_bounds(day, zone)
    return list(
        Appointment.objects.for_user(user)
        .filter(doctor=doctor)
        .overlapping(start, end)
        .filter(~Q(status=StatusCode.CANCELLED))
        .select_related("patient", "chair", "branch")
        .prefetch_related(
            Prefetch("service_lines", queryset=AppointmentService.objects.select_related("service"))
        )
        .order_by("start")
    )


def doctor_days_with_visits(
    doctor: Employee, month_start: datetime.date, zone: zoneinfo.ZoneInfo, *, user
) -> set[datetime.date]:
    """Days of a month on which the doctor has visits (for the mini calendar's dots)."""
    next_month = (month_start.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    start, _ = local_day_bounds(month_start, zone)
    end, _ = local_day_bounds(next_month, zone)
    starts = (
        Appointment.objects.for_user(user)
        .filter(doctor=doctor, start__gte=start, start__lt=end)
        .filter(~Q(status=StatusCode.CANCELLED))
        .values_list("start", flat=True)
    )
    return {moment.astimezone(zone).date() for moment in starts}


# --- A patient's visits (the patient card's panel) -------------------------------------


class VisitList:
    UPCOMING = "upcoming"
    HISTORY = "history"
    PARTS = (UPCOMING, HISTORY)


def patient_visits(
    patient_id: int, *, user, part: str, offset: int, limit: int
) -> tuple[list[Appointment], bool]:
    """One page of a patient's visits in the branches ``user`` sees, and whether more follow.

    Upcoming: not cancelled and not yet over, soonest first. History: the rest (past visits
    of any status, and cancelled ones), latest first. Three queries whatever the page: the
    visits with their doctor, chair and branch, and their services.
    """
    now = timezone.now()
    upcoming = Q(end__gt=now) & ~Q(status=StatusCode.CANCELLED)
    visits = Appointment.objects.for_user(user).filter(patient_id=patient_id)
    if part == VisitList.UPCOMING:
        visits = visits.filter(upcoming).order_by("start", "pk")
    else:
        visits = visits.exclude(upcoming).order_by("-start", "-pk")
    lines = AppointmentService.objects.select_related("service").only(
        "appointment_id", "tooth", "quantity", "service__name"
    )
    page = list(
        visits.select_related("doctor", "chair", "branch").prefetch_related(
            Prefetch("service_lines", queryset=lines, to_attr="lines")
        )[offset : offset + limit + 1]
    )
    return page[:limit], len(page) > limit


def upcoming_visits_elsewhere(patient_id: int, *, user) -> int:
    """How many of the patient's upcoming visits are in branches ``user`` does not see."""
    if sees_every_branch(user):
        return 0
    return (
        Appointment.objects.filter(patient_id=patient_id, end__gt=timezone.now())
        .exclude(status=StatusCode.CANCELLED)
        .exclude(branch__in=Branch.objects.for_user(user))
        .count()
    )
