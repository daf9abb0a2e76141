"""The "find a time" screen: free times of a doctor, a profession or anyone, for some
services, over a range of days, grouped by day and then by doctor. The times come from the
one slot finder (``calendar_app.slots``); a click on one opens the booking dialog."""

import datetime
from dataclasses import dataclass, field
from itertools import groupby
from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from calendar_app.forms import FindTimeForm
from calendar_app.slots import Slot, find_slots
from clinic.bounds import parse_id
from clinic.models import Branch, Chair, Employee
from clinic.permissions import AuthedRequest, module_required, visible_branch_ids
from clinic.permissions import visible_branches as user_branches
from patients.models import Patient
from pricelist.models import Service

# A doctor's day shows its first few times; "more" opens that doctor's day in full. A wide
# search shows whole days until this many doctor-days, then offers the later days.
TIMES_PER_DOCTOR_DAY = 8
DOCTOR_DAYS_PER_PAGE = 60


@dataclass
class DoctorDay:
    doctor: Employee
    branch: Branch
    times: list[tuple[datetime.datetime, Chair, str]]  # local start, chair, booking URL
    more_url: str = ""

    @property
    def chairs(self) -> list[Chair]:
        return list({chair.pk: chair for _start, chair, _url in self.times}.values())


@dataclass
class Day:
    date: datetime.date
    doctors: list[DoctorDay] = field(default_factory=list)


@dataclass
class FoundTimes:
    days: list[Day]
    duration: int
    later_url: str = ""


@require_GET
@module_required("calendar", "change")
def find_time(request: AuthedRequest) -> HttpResponse:
    patient = _patient_asked(request)
    branches = list(user_branches(request.user).order_by("position", "pk"))
    today = timezone.localdate(timezone=request.branch.zone if request.branch else None)
    searched = any(name in request.GET for name in FindTimeForm.base_fields)
    form = FindTimeForm(
        request.GET if searched else None,
        doctors=Employee.objects.doctors().for_user(request.user).order_by("last_name", "pk"),
        branches=user_branches(request.user).order_by("position", "pk"),
        today=today,
    )
    found, status = None, 200
    if searched and form.is_valid():
        found = _find(request, form.cleaned_data, patient, {b.pk: b for b in branches})
    elif searched:
        # A doctor or a branch the user does not see is not found, as anywhere else.
        if form.has_error("doctor", "invalid_choice") or form.has_error("branch", "invalid_choice"):
            raise Http404
        status = 422
    context = {
        "form": form,
        "found": found,
        "patient": patient,
        "branches": branches,
        # Times are the branch's wall clock: name the zone when the branches differ in it.
        "show_zones": len({b.time_zone for b in branches}) > 1,
        "service_durations": dict(Service.objects.values_list("pk", "duration_minutes")),
    }
    template = "calendar_app/find_time.html"
    if request.htmx and found is not None:
        template += "#results"
    return render(request, template, context, status=status)


def _patient_asked(request: AuthedRequest) -> Patient | None:
    if "patient" not in request.GET:
        return None
    patient_id = parse_id(request.GET["patient"])
    if patient_id is None:
        raise Http404
    return get_object_or_404(Patient.objects.all(), pk=patient_id)


def _find(
    request: AuthedRequest, data: dict, patient: Patient | None, branches: dict[int, Branch]
) -> FoundTimes:
    doctor, branch = data["doctor"], data["branch"]
    one_doctor_day = doctor is not None and data["date_from"] == data["date_to"]
    time_from, time_to = data["window"]
    slots = find_slots(
        date_from=data["date_from"],
        date_to=data["date_to"],
        duration=datetime.timedelta(minutes=data["duration"]),
        branch_id=branch.pk if branch else None,
        branch_ids=None if branch else visible_branch_ids(request.user),
        doctor_id=doctor.pk if doctor else None,
        profession_id=data["profession"].pk if data["profession"] else None,
        time_from=time_from,
        time_to=time_to,
        # One more than shown tells whether there are more.
        per_doctor_day=None if one_doctor_day else TIMES_PER_DOCTOR_DAY + 1,
    )
    query = _query(data, patient)
    cap = None if one_doctor_day else TIMES_PER_DOCTOR_DAY
    days, later = _group(slots, data, query, patient, cap, branches)
    later_url = _url(query, date_from=later) if later else ""
    return FoundTimes(days, data["duration"], later_url)


def _group(
    slots: list[Slot],
    data: dict,
    query: dict,
    patient: Patient | None,
    cap: int | None,
    branches: dict[int, Branch],
) -> tuple[list[Day], datetime.date | None]:
    """The days with free times, each with its doctors' times; and the first day left for
    "later days" when there are more doctor-days than a page shows."""
    chairs = Chair.objects.in_bulk({s.chair_id for s in slots})
    doctors = Employee.objects.in_bulk({s.doctor_id for s in slots})
    booking_query = {"services": ",".join(str(s.pk) for s in data["services"])}
    if patient:
        booking_query["patient"] = str(patient.pk)
    book_url = reverse("calendar:appointment-create")
    duration = datetime.timedelta(minutes=data["duration"])

    def local_key(slot: Slot) -> tuple:
        local = slot.start.astimezone(branches[slot.branch_id].zone)
        doctor = doctors[slot.doctor_id]
        return local.date(), doctor.last_name, doctor.first_name, slot.doctor_id, slot.branch_id

    days: dict[datetime.date, Day] = {}
    doctor_days = groupby(sorted(slots, key=lambda s: (local_key(s), s.start)), key=local_key)
    for shown, ((date, *_name, doctor_id, branch_id), group) in enumerate(doctor_days):
        if date not in days and shown >= DOCTOR_DAYS_PER_PAGE:
            return list(days.values()), date
        branch = branches[branch_id]
        times = []
        for slot in group:
            local = slot.start.astimezone(branch.zone)
            params = {
                "branch": branch_id,
                "chair": slot.chair_id,
                "start": local.strftime("%Y-%m-%dT%H:%M:%S"),
                "end": (local + duration).strftime("%Y-%m-%dT%H:%M:%S"),
                **booking_query,
            }
            times.append((local, chairs[slot.chair_id], f"{book_url}?{urlencode(params)}"))
        doctor_day = DoctorDay(doctors[doctor_id], branch, times[:cap])
        if cap and len(times) > cap:
            doctor_day.more_url = _url(
                query, doctor=doctor_id, branch=branch_id, date_from=date, date_to=date
            )
        days.setdefault(date, Day(date)).doctors.append(doctor_day)
    return list(days.values()), None


def _query(data: dict, patient: Patient | None) -> dict:
    """The search as query parameters, for the links that narrow or page it."""
    query: dict = {
        "services": [s.pk for s in data["services"]],
        "duration": data["duration"],
        "doctor": data["doctor"].pk if data["doctor"] else "",
        "profession": data["profession"].pk if data["profession"] else "",
        "branch": data["branch"].pk if data["branch"] else "",
        "date_from": data["date_from"],
        "date_to": data["date_to"],
        "part_of_day": data["part_of_day"],
        "hours_from": data["hours_from"] or "",
        "hours_to": data["hours_to"] or "",
    }
    if patient:
        query["patient"] = patient.pk
    return query


def _url(query: dict, **overrides) -> str:
    params = {**query, **overrides}
    if overrides.get("doctor"):
        params["profession"] = ""
    return f"{reverse('calendar:find-time')}?{urlencode(params, doseq=True)}"
