import contextlib
import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from calendar_app import selectors, services
from calendar_app.forms import (
    AppointmentForm,
    CancelForm,
    MoveForm,
    RescheduleForm,
    ShiftForm,
    StatusForm,
    WaitlistForm,
)
from calendar_app.models import Appointment, StatusCode, WaitingListEntry, WorkShift
from calendar_app.slots import Slot, find_slots, load_availability, step_minutes
from clinic.bounds import date_param, parse_id, parse_id_list
from clinic.htmx import close_dialog
from clinic.models import Branch, Chair, Employee, Profession, ProfessionKind
from clinic.permissions import (
    AuthedRequest,
    get_branch_for_user,
    has_module_perm,
    module_required,
    visible_branches,
)
from clinic.responses import json_response
from clinic.views.trash import undo_tag
from pricelist.models import Service

CHANGED = "calendarChanged"


# --- Access helpers --------------------------------------------------------------------


def get_branch(request: AuthedRequest) -> Branch:
    """The branch asked for (?branch=), else the user's current one; only their branches."""
    asked = request.GET.get("branch") or request.POST.get("branch")
    if asked:
        branch_id = parse_id(asked)
        if branch_id is None:
            raise Http404
        return get_branch_for_user(request, branch_id)
    branch = request.branch or visible_branches(request.user).first()
    if branch is None:
        raise Http404
    return branch


def get_appointment_for_user(request: AuthedRequest, pk: int) -> Appointment:
    return get_object_or_404(
        Appointment.objects.for_user(request.user).select_related(
            "branch", "chair", "doctor", "patient"
        ),
        pk=pk,
    )


def get_shift_for_user(request: AuthedRequest, pk: int) -> WorkShift:
    return get_object_or_404(
        WorkShift.objects.for_user(request.user).select_related("branch", "chair", "doctor"),
        pk=pk,
    )


def _refused(form: MoveForm) -> JsonResponse:
    """A move the form refuses, with its messages (the calendar shows them in a toast)."""
    texts = dict.fromkeys(str(text) for errors in form.errors.values() for text in errors)
    return JsonResponse({"ok": False, "error": " ".join(texts)}, status=422)


def get_waitlist_entry_for_user(
    request: AuthedRequest, pk: int, *, branch: Branch | None = None
) -> WaitingListEntry:
    entries = WaitingListEntry.objects.for_user(request.user)
    if branch is not None:
        entries = entries.filter(branch=branch)
    return get_object_or_404(entries, pk=pk)


def get_doctor_for_user(request: AuthedRequest, pk: int) -> Employee:
    """A doctor picked by id in a calendar context works in one of the user's branches."""
    return get_object_or_404(Employee.objects.doctors().for_user(request.user), pk=pk)


def _conflict(error: ValidationError) -> JsonResponse:
    code = getattr(error, "code", None) or "invalid"
    return JsonResponse(
        {"ok": False, "code": code, "error": " ".join(error.messages)},
        status=409 if code in ("taken", "outside_shift") else 422,
    )


# --- Page and feeds --------------------------------------------------------------------


@module_required("calendar", "view")
def calendar_page(request: AuthedRequest) -> HttpResponse:
    branch = get_branch(request)
    today = timezone.localtime(timezone.now(), branch.zone).date()
    day = date_param(request, "date", today, lenient=True)
    config = {
        "branch": branch.pk,
        "date": day.isoformat(),
        "today": today.isoformat(),
        "slotMinTime": branch.opens_at.strftime("%H:%M"),
        "slotMaxTime": branch.closes_at.strftime("%H:%M"),
        "slotMinutes": step_minutes(),
        "canChange": has_module_perm(request.user, "calendar", "change"),
        "statuses": [
            {"code": code, **style}
            for code, style in selectors.status_styles().items()
            if code != StatusCode.CANCELLED
        ],
        "urls": {
            "resources": "/calendar/feed/resources/",
            "events": "/calendar/feed/events/",
            "book": "/calendar/appointments/new/",
            "appointment": "/calendar/appointments/",
            "shift": "/calendar/shifts/",
            "patient": "/patients/",
            "waitlist": "/calendar/waitlist/",
        },
    }
    context = {
        "branch": branch,
        "branches": visible_branches(request.user),
        "professions": Profession.objects.filter(kind=ProfessionKind.DOCTOR),
        "config": config,
        "day": day,
        "waitlist": selectors.waiting_list(branch),
    }
    return render(request, "calendar_app/calendar.html", context)


@require_GET
@module_required("calendar", "view")
def feed_resources(request: AuthedRequest) -> JsonResponse:
    return JsonResponse(selectors.resources(get_branch(request)), safe=False)


@require_GET
@module_required("calendar", "view")
def feed_events(request: AuthedRequest) -> HttpResponse:
    branch = get_branch(request)
    today = timezone.localtime(timezone.now(), branch.zone).date()
    start = date_param(request, "start", today)
    end = date_param(request, "end", start + datetime.timedelta(days=1))
    if end <= start or (end - start).days > 42:
        return JsonResponse({"error": _("Ask for at most six weeks at once.")}, status=400)
    profession_id = parse_id(request.GET.get("profession"))
    editable = has_module_perm(request.user, "calendar", "change")
    if request.GET.get("mode") == "doctors":
        events = selectors.shift_events(
            branch, start, end, profession_id=profession_id, background=False, editable=editable
        )
    else:
        events = selectors.shift_events(
            branch, start, end, profession_id=profession_id, background=True
        )
        events += selectors.appointment_events(
            branch, start, end, profession_id=profession_id, editable=editable
        )
    return json_response(events)


# --- Appointments ----------------------------------------------------------------------


def _booking_context(
    request: AuthedRequest, form: AppointmentForm, branch: Branch, **extra
) -> dict:
    durations: dict[int, int] = {}
    per_tooth: dict[int, str] = {}
    for pk, minutes, on_teeth, name in Service.objects.values_list(
        "pk", "duration_minutes", "per_tooth", "name"
    ):
        durations[pk] = minutes
        if on_teeth:
            per_tooth[pk] = name
    tooth_rows = [
        {"service_id": pk, "name": per_tooth[pk], "teeth": form.teeth_text(pk)}
        for pk in form.selected_service_ids()
        if pk in per_tooth
    ]
    return {
        "form": form,
        "branch": branch,
        "service_durations": durations,
        "per_tooth_services": per_tooth,
        "tooth_rows": tooth_rows,
        **extra,
    }


def _booking_initial(request: AuthedRequest, branch: Branch) -> dict:
    initial: dict = {"duration_minutes": step_minutes() * 2}
    start_text = request.GET.get("start", "")
    chair_id = parse_id(request.GET.get("chair"))
    try:
        start = selectors.parse_local(start_text, branch.zone) if start_text else None
        end = (
            selectors.parse_local(request.GET["end"], branch.zone)
            if request.GET.get("end")
            else None
        )
    except ValueError:
        start = end = None
    if start:
        local = timezone.localtime(start, branch.zone)
        initial.update(date=local.date(), time=local.time().replace(second=0, microsecond=0))
        if end and end > start:
            initial["duration_minutes"] = int((end - start).total_seconds() // 60)
    if chair_id:
        # A chair of another branch (or of a branch the user does not see) is not found.
        chair = get_object_or_404(
            Chair.objects.for_user(request.user).filter(branch=branch), pk=chair_id
        )
        initial["chair"] = chair.pk
        if start:
            doctor = selectors.doctor_on_shift(chair, start)
            if doctor:
                initial["doctor"] = doctor.pk
    if patient_id := parse_id(request.GET.get("patient")):
        initial["patient"] = patient_id
    with contextlib.suppress(ValueError):  # a garbled list preselects nothing
        initial["services"] = parse_id_list(request.GET.get("services", ""))
    if waitlist_id := parse_id(request.GET.get("waitlist")):
        entry = get_waitlist_entry_for_user(request, waitlist_id, branch=branch)
        initial.update(
            waitlist=entry.pk,
            patient=entry.patient_id,
            duration_minutes=entry.duration_minutes,
            note=entry.comment,
        )
        if entry.doctor_id and "doctor" not in initial:
            initial["doctor"] = entry.doctor_id
    return initial


@module_required("calendar", "change")
def appointment_create(request: AuthedRequest) -> HttpResponse:
    branch = get_branch(request)
    if request.method != "POST":
        initial = _booking_initial(request, branch)
        # Opened without a time (from the patient card): offer the first free ones.
        free_times = _first_free_times(branch, initial) if "date" not in initial else {}
        form = AppointmentForm(initial=initial, branch=branch)
        context = _booking_context(request, form, branch, **free_times)
        return render(request, "calendar_app/booking.html", context)
    form = AppointmentForm(request.POST, branch=branch)
    outside_shift = suggestions = None
    if form.is_valid():
        data = form.cleaned_data
        booking = {
            "doctor": data["doctor"],
            "chair": data["chair"],
            "start": data["start"],
            "end": data["end"],
            "services": data["lines"],
            "note": data["note"],
            "visit_type": data["visit_type"] or None,
            "allow_outside_shift": data["allow_outside_shift"],
        }
        try:
            if data.get("waitlist"):
                entry = get_waitlist_entry_for_user(request, data["waitlist"], branch=branch)
                services.waitlist_book(entry=entry, by=request.user, **booking)
            else:
                services.appointment_book(by=request.user, patient=data["patient"], **booking)
        except services.OutsideShift as error:
            outside_shift = " ".join(error.messages)
        except services.SlotTaken as error:
            form.add_error(None, error)
            suggestions = _nearest_slots(branch, data)
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(
                request, _("%(patient)s is booked.") % {"patient": data["patient"].short_name}
            )
            return close_dialog(CHANGED, request=request)
    context = _booking_context(
        request, form, branch, outside_shift=outside_shift, suggestions=suggestions
    )
    return render(request, "calendar_app/booking.html", context, status=422)


FIRST_FREE_DAYS = 14


def _first_free_times(branch: Branch, initial: dict) -> dict:
    """The patient's attending doctor's nearest free times in this branch (the doctor is
    preset too), or, when they have none or do not work here, any doctor's."""
    today = timezone.localtime(timezone.now(), branch.zone).date()

    def free(doctor_id: int | None, limit: int) -> list[Slot]:
        return find_slots(
            date_from=today,
            date_to=today + datetime.timedelta(days=FIRST_FREE_DAYS - 1),
            duration=datetime.timedelta(minutes=initial["duration_minutes"]),
            branch_id=branch.pk,
            doctor_id=doctor_id,
            limit=limit,
        )

    doctor = None
    if patient_id := initial.get("patient"):
        doctor = (
            Employee.objects.doctors()
            .filter(branches=branch, attended_patients__pk=patient_id)
            .first()
        )
    if doctor is not None:
        initial["doctor"] = doctor.pk
        slots = free(doctor.pk, 8)
        if slots:
            return {"suggestions": _offered(slots, branch), "suggestions_of": doctor}
    first_per_time: list[Slot] = []
    for slot in free(None, 50):  # sorted by start
        if not first_per_time or first_per_time[-1].start != slot.start:
            first_per_time.append(slot)
    first_per_time = first_per_time[:8]
    doctors = Employee.objects.filter(pk__in={slot.doctor_id for slot in first_per_time})
    names = {employee.pk: employee.short_name for employee in doctors}
    offered = [
        {**slot, "doctor_name": names.get(slot["doctor_id"], "")}
        for slot in _offered(first_per_time, branch)
    ]
    return {"suggestions": offered, "any_doctor": True, "first_free_days": FIRST_FREE_DAYS}


def _nearest_slots(branch: Branch, data: dict) -> list[dict]:
    day = timezone.localtime(data["start"], branch.zone).date()
    slots = find_slots(
        date_from=day,
        date_to=day + datetime.timedelta(days=2),
        duration=data["end"] - data["start"],
        branch_id=branch.pk,
        doctor_id=data["doctor"].pk,
        limit=6,
    )
    return _offered(slots, branch)


def _offered(slots: list[Slot], branch: Branch) -> list[dict]:
    """Slots as the dialogs offer them: the branch's local start, the chair, the doctor."""
    return [
        {
            "start": timezone.localtime(s.start, branch.zone),
            "chair_id": s.chair_id,
            "doctor_id": s.doctor_id,
        }
        for s in slots
    ]


@module_required("calendar", "view")
def appointment_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    appointment = get_appointment_for_user(request, pk)
    styles = selectors.status_styles()
    history = appointment.status_changes.select_related("changed_by")
    context = {
        "appointment": appointment,
        "zone": appointment.branch.zone,
        "lines": appointment.service_lines.select_related("service").order_by("pk"),
        "history": [(change, styles[change.to_status]["name"]) for change in history],
        "status": styles[appointment.status],
    }
    return render(request, "calendar_app/appointment_detail.html", context)


@require_POST
@module_required("calendar", "change")
def appointment_move(request: AuthedRequest, pk: int) -> JsonResponse:
    appointment = get_appointment_for_user(request, pk)
    form = MoveForm(request.POST, branch=appointment.branch)
    if not form.is_valid():
        return _refused(form)
    data = form.cleaned_data
    try:
        services.appointment_move(
            appointment=appointment,
            by=request.user,
            start=data["start"],
            end=data["end"],
            chair=data["chair"],
            allow_outside_shift=data["allow_outside_shift"],
        )
    except ValidationError as error:
        return _conflict(error)
    return JsonResponse({"ok": True})


@module_required("calendar", "change")
def appointment_reschedule(request: AuthedRequest, pk: int) -> HttpResponse:
    appointment = get_appointment_for_user(request, pk)
    branch = appointment.branch
    local = timezone.localtime(appointment.start, branch.zone)
    form = RescheduleForm(
        request.POST or None,
        branch=branch,
        duration=appointment.duration,
        initial={
            "date": local.date(),
            "time": local.time().replace(second=0),
            "doctor": appointment.doctor_id,
            "chair": appointment.chair_id,
        },
    )
    outside_shift = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.appointment_move(
                appointment=appointment,
                by=request.user,
                start=data["start"],
                end=data["end"],
                chair=data["chair"],
                doctor=data["doctor"],
                allow_outside_shift=data["allow_outside_shift"],
            )
        except services.OutsideShift as error:
            outside_shift = " ".join(error.messages)
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("The visit is moved."))
            return close_dialog(CHANGED, request=request)
    slot_day: datetime.date = (
        form.cleaned_data["date"] if form.is_bound and form.is_valid() else local.date()
    )
    slots = find_slots(
        date_from=slot_day,
        date_to=slot_day + datetime.timedelta(days=6),
        duration=appointment.duration,
        branch_id=branch.pk,
        doctor_id=appointment.doctor_id,
        exclude_appointment_id=appointment.pk,
        limit=12,
    )
    context = {
        "appointment": appointment,
        "form": form,
        "outside_shift": outside_shift,
        "slots": _offered(slots, branch),
    }
    status = 422 if request.method == "POST" else 200
    return render(request, "calendar_app/reschedule.html", context, status=status)


@require_POST
@module_required("calendar", "change")
def appointment_status(request: AuthedRequest, pk: int) -> HttpResponse:
    appointment = get_appointment_for_user(request, pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"ok": False, "error": _("Unknown status.")}, status=422)
    try:
        services.appointment_set_status(
            appointment=appointment, by=request.user, status=form.cleaned_data["status"]
        )
    except ValidationError as error:
        return _conflict(error)
    return JsonResponse({"ok": True})


@module_required("calendar", "change")
def appointment_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    appointment = get_appointment_for_user(request, pk)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.appointment_cancel(
            appointment=appointment, by=request.user, reason=form.cleaned_data["reason"]
        )
        messages.success(request, _("The visit is cancelled; its time is free."))
        return close_dialog(CHANGED, request=request)
    return render(
        request,
        "calendar_app/cancel.html",
        {"appointment": appointment, "form": form, "reasons": CancelForm.REASONS},
        status=422 if form.errors else 200,
    )


@require_POST
@module_required("calendar", "change")
def appointment_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    appointment = get_appointment_for_user(request, pk)
    services.appointment_delete(appointment=appointment, by=request.user)
    messages.success(
        request, _("The visit is deleted."), extra_tags=undo_tag("appointments", appointment.pk)
    )
    response = close_dialog(CHANGED, request=request)
    response["HX-Reswap"] = "none"
    return response


@module_required("calendar", "change")
def appointment_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    """When, where and what for: one service saves it all or nothing."""
    appointment = get_appointment_for_user(request, pk)
    branch = appointment.branch
    local = timezone.localtime(appointment.start, branch.zone)
    lines = list(appointment.service_lines.order_by("tooth", "pk"))
    initial = {
        "patient": appointment.patient_id,
        "doctor": appointment.doctor_id,
        "chair": appointment.chair_id,
        "date": local.date(),
        "time": local.time(),
        "duration_minutes": int(appointment.duration.total_seconds() // 60),
        "services": list(dict.fromkeys(line.service_id for line in lines)),
        "note": appointment.note,
        "visit_type": appointment.visit_type,
    }
    teeth: dict[int, list[str]] = {}
    for line in lines:
        if line.tooth:
            teeth.setdefault(line.service_id, []).append(str(line.tooth))
    service_teeth = {pk: ", ".join(numbers) for pk, numbers in teeth.items()}
    form = AppointmentForm(
        request.POST or None, branch=branch, initial=initial, service_teeth=service_teeth
    )
    outside_shift = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.appointment_edit(
                appointment=appointment,
                by=request.user,
                start=data["start"],
                end=data["end"],
                chair=data["chair"],
                doctor=data["doctor"],
                services=data["lines"],
                note=data["note"],
                visit_type=data["visit_type"] or None,
                allow_outside_shift=data["allow_outside_shift"],
            )
        except services.OutsideShift as error:
            outside_shift = " ".join(error.messages)
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("The visit is saved."))
            return close_dialog(CHANGED, request=request)
    context = _booking_context(
        request, form, branch, appointment=appointment, outside_shift=outside_shift
    )
    status = 422 if form.errors or outside_shift else 200
    return render(request, "calendar_app/booking.html", context, status=status)


# --- Work shifts -----------------------------------------------------------------------


@module_required("calendar", "change")
def shift_create(request: AuthedRequest) -> HttpResponse:
    branch = get_branch(request)
    initial = _booking_initial(request, branch)
    if "time" in initial:
        initial["time_from"] = initial["time"]
        initial["time_to"] = (
            datetime.datetime.combine(datetime.date.min, initial["time"])
            + datetime.timedelta(minutes=initial["duration_minutes"])
        ).time()
    else:
        initial.update(
            time_from=branch.opens_at,
            time_to=branch.closes_at,
            date=date_param(request, "date", timezone.localdate(), lenient=True),
        )
    form = ShiftForm(request.POST or None, branch=branch, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.shifts_create_pattern(
                by=request.user,
                doctor=data["doctor"],
                chair=data["chair"],
                dates=data["dates"],
                time_from=data["time_from"],
                time_to=data["time_to"],
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(
                request,
                ngettext("%(count)s shift added.", "%(count)s shifts added.", len(created))
                % {"count": len(created)},
            )
            return close_dialog(CHANGED, request=request)
    return render(
        request,
        "calendar_app/shift_form.html",
        {"form": form, "branch": branch},
        status=422 if form.errors else 200,
    )


@require_POST
@module_required("calendar", "change")
def shift_move(request: AuthedRequest, pk: int) -> JsonResponse:
    shift = get_shift_for_user(request, pk)
    form = MoveForm(request.POST, branch=shift.branch)
    if not form.is_valid():
        return _refused(form)
    data = form.cleaned_data
    try:
        services.shift_move(
            shift=shift, by=request.user, start=data["start"], end=data["end"], chair=data["chair"]
        )
    except ValidationError as error:
        return _conflict(error)
    return JsonResponse({"ok": True})


@require_POST
@module_required("calendar", "change")
def shift_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    shift = get_shift_for_user(request, pk)
    services.shift_delete(shift=shift, by=request.user)
    messages.success(request, _("The shift is deleted."), extra_tags=undo_tag("shifts", shift.pk))
    return close_dialog(CHANGED, request=request)


# --- Waiting list ----------------------------------------------------------------------


@module_required("calendar", "view")
def waitlist(request: AuthedRequest) -> HttpResponse:
    branch = get_branch(request)
    entries = selectors.waiting_list(branch)
    rows = []
    if entries:
        today = timezone.localtime(timezone.now(), branch.zone).date()
        # One read of the branch's three weeks serves every entry's suggestions.
        availability = load_availability(
            date_from=today,
            date_to=today + datetime.timedelta(days=21),
            branch_id=branch.pk,
            professions=True,
        )
        step = datetime.timedelta(minutes=step_minutes())
        for entry in entries:
            slots = availability.slots(
                duration=datetime.timedelta(minutes=entry.duration_minutes),
                step=step,
                doctor_id=entry.doctor_id,
                profession_id=entry.profession_id,
                weekdays=set(entry.preferred_weekdays) or None,
                time_from=entry.preferred_time_from,
                time_to=entry.preferred_time_to,
                limit=3,
            )
            rows.append((entry, _offered(slots, branch)))
    return render(
        request,
        "calendar_app/calendar.html#waitlist",
        {"branch": branch, "waitlist_rows": rows, "waitlist": entries},
    )


@module_required("calendar", "change")
def waitlist_add(request: AuthedRequest) -> HttpResponse:
    branch = get_branch(request)
    patient_id = parse_id(request.GET.get("patient"))
    initial = {"patient": patient_id} if patient_id else {}
    form = WaitlistForm(request.POST or None, branch=branch, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.waitlist_add(by=request.user, data={**form.cleaned_data, "branch": branch})
        messages.success(request, _("Added to the waiting list."))
        return close_dialog("waitlistChanged", request=request)
    return render(
        request,
        "calendar_app/waitlist_form.html",
        {"form": form, "branch": branch},
        status=422 if form.errors else 200,
    )


@require_POST
@module_required("calendar", "change")
def waitlist_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    entry = get_waitlist_entry_for_user(request, pk)
    services.waitlist_remove(entry=entry, by=request.user)
    messages.success(
        request, _("Removed from the waiting list."), extra_tags=undo_tag("waitlist", entry.pk)
    )
    return close_dialog("waitlistChanged", request=request)
