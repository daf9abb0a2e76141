"""The doctor's own day (/schedule/): patients, times, chairs, statuses, one-tap changes."""

import calendar
import datetime

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from calendar_app import selectors, services
from calendar_app.models import StatusCode
from calendar_app.views import get_appointment_for_user, get_doctor_for_user
from clinic.bounds import date_param, parse_id
from clinic.models import Employee
from clinic.permissions import AuthedRequest, has_module_perm, module_required, visible_branches

# The taps a doctor makes through the day, in order.
NEXT_STATUSES = {
    StatusCode.PLANNED: [StatusCode.ARRIVED, StatusCode.IN_CHAIR],
    StatusCode.CONFIRMED: [StatusCode.ARRIVED, StatusCode.IN_CHAIR],
    StatusCode.ARRIVED: [StatusCode.IN_CHAIR],
    StatusCode.IN_CHAIR: [StatusCode.COMPLETED],
}


def schedule_doctor(request: AuthedRequest) -> Employee | None:
    """A doctor sees their own day; a user with calendar rights may pick any doctor of their
    branches (404 for others). None when there is nobody to show (no doctors yet, or a
    non-doctor without that right)."""
    own = getattr(request.user, "employee", None)
    wanted = parse_id(request.GET.get("doctor"))
    if wanted and has_module_perm(request.user, "calendar", "view"):
        return get_doctor_for_user(request, wanted)
    if own is not None and own.is_doctor:
        return own
    if not has_module_perm(request.user, "calendar", "view"):
        return None
    return Employee.objects.doctors().for_user(request.user).order_by("last_name").first()


def _month_grid(day: datetime.date, marked: set[datetime.date]) -> list[list[dict]]:
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(day.year, day.month)
    return [
        [{"date": d, "in_month": d.month == day.month, "marked": d in marked} for d in week]
        for week in weeks
    ]


@module_required("schedule", "view")
def schedule(request: AuthedRequest) -> HttpResponse:
    doctor = schedule_doctor(request)
    if doctor is None:
        return render(request, "calendar_app/schedule.html", {"doctor": None})
    # The day of a doctor of two branches is counted in the zone of the one the user sees.
    branch = doctor.branches.filter(pk__in=visible_branches(request.user)).first()
    zone = branch.zone if branch else timezone.get_current_timezone()
    day = date_param(request, "date", timezone.localtime(timezone.now(), zone).date(), lenient=True)
    visits = selectors.doctor_day(doctor, day, zone, user=request.user)
    marked = selectors.doctor_days_with_visits(doctor, day.replace(day=1), zone, user=request.user)
    context = {
        "doctor": doctor,
        "day": day,
        "zone": zone,
        "today": timezone.localtime(timezone.now(), zone).date(),
        "visits": [(v, NEXT_STATUSES.get(StatusCode(v.status), [])) for v in visits],
        "styles": selectors.status_styles(),
        "month": _month_grid(day, marked),
        "prev_day": day - datetime.timedelta(days=1),
        "next_day": day + datetime.timedelta(days=1),
        "prev_month": (day.replace(day=1) - datetime.timedelta(days=1)).replace(day=1),
        "next_month": (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1),
        "doctors": Employee.objects.doctors().for_user(request.user)
        if has_module_perm(request.user, "calendar", "view")
        else [],
        "own": getattr(request.user, "employee", None) == doctor,
    }
    template = "calendar_app/schedule.html#day" if request.htmx else "calendar_app/schedule.html"
    return render(request, template, context)


@require_POST
@module_required("schedule", "change")
def schedule_status(request: AuthedRequest, pk: int) -> HttpResponse:
    """One tap: arrived, in the chair, completed. A doctor changes only their own visits."""
    appointment = get_appointment_for_user(request, pk)
    own = getattr(request.user, "employee", None)
    if appointment.doctor_id != getattr(own, "pk", None) and not has_module_perm(
        request.user, "calendar", "change"
    ):
        raise Http404
    status = request.POST.get("status", "")
    if status not in NEXT_STATUSES.get(StatusCode(appointment.status), []):
        return HttpResponse(_("This step is not possible now."), status=409)
    try:
        services.appointment_set_status(appointment=appointment, by=request.user, status=status)
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=409)
    return HttpResponse(status=204, headers={"HX-Trigger": "scheduleChanged"})
