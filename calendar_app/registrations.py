"""What the calendar plugs into the core: statuses, recycle bin, settings, live topics,
the patient timeline's wording, demo data."""

import datetime

from django import forms
from django.db.models import OuterRef, Subquery
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from calendar_app import documents, selectors, services  # noqa: F401  (documents registers on import)
from calendar_app.models import (
    Appointment,
    AppointmentStatus,
    StatusCode,
    WaitingListEntry,
    WorkShift,
)
from clinic import demo, dependents, live, preferences, references, trash
from clinic.bounds import parse_id
from clinic.models import Branch, Chair, Employee
from clinic.permissions import has_module_perm
from patients import card_panels, next_visit, timeline
from patients.models import Patient

references.register(
    references.ReferenceBook(
        "visit-statuses",
        gettext_lazy("Visit statuses"),
        AppointmentStatus,
        fields=("name", "color"),
        description=gettext_lazy("Names and colours of the calendar's statuses."),
        icon="palette",
        can_add=False,
        can_deactivate=False,
    )
)

# The statuses' names and colours are cached; an edit in the reference book empties it.
post_save.connect(selectors.forget_status_styles, sender=AppointmentStatus, dispatch_uid="status")
post_delete.connect(selectors.forget_status_styles, sender=AppointmentStatus, dispatch_uid="status")

trash.register(
    trash.TrashSection(
        "appointments",
        gettext_lazy("Appointments"),
        Appointment,
        "calendar",
        event_prefix="appointment",
        patient_of=lambda appointment: appointment.patient_id,  # type: ignore[attr-defined]
        before_restore=services.appointment_restoring,
    )
)
trash.register(
    trash.TrashSection(
        "shifts",
        gettext_lazy("Work shifts"),
        WorkShift,
        "calendar",
        event_prefix="shift",
        before_restore=services.shift_restoring,
    )
)
trash.register(
    trash.TrashSection(
        "waitlist",
        gettext_lazy("Waiting list"),
        WaitingListEntry,
        "calendar",
        event_prefix="waitlist",
        patient_of=lambda entry: entry.patient_id,  # type: ignore[attr-defined]
        before_restore=services.waitlist_restoring,
    )
)

# Deleting a patient, a chair, an employee or a branch cancels what is booked on them (after a
# confirmation that names it); see clinic.dependents.
for model, find, release, lock in (
    (Patient, services.patient_dependents, services.patient_release, services.patient_lock),
    (Chair, services.chair_dependents, services.chair_release, services.chair_lock),
    (Employee, services.employee_dependents, services.employee_release, services.employee_lock),
    (Branch, services.branch_dependents, services.branch_release, services.branch_lock),
):
    dependents.register(dependents.Provider(model, find, release, lock))

preferences.register(
    preferences.Preference(
        "calendar.slot_step_minutes",
        "calendar",
        gettext_lazy("Slot step, minutes"),
        lambda: forms.TypedChoiceField(
            coerce=int, choices=[(m, m) for m in (5, 10, 15, 20, 30, 60)]
        ),
        default=15,
        help_text=gettext_lazy("The calendar's grid and the times the slot finder offers."),
    )
)


def _sees_branch_day(user, rest: str) -> bool:
    branch_id, _sep, day = rest.partition(".")
    branch_pk = parse_id(branch_id)
    if not (branch_pk and has_module_perm(user, "calendar", "view")):
        return False
    try:
        datetime.date.fromisoformat(day)
    except ValueError:
        return False
    return Branch.objects.for_user(user).filter(pk=branch_pk).exists()


def _sees_waitlist(user, rest: str) -> bool:
    branch_pk = parse_id(rest)
    return bool(
        branch_pk
        and has_module_perm(user, "calendar", "view")
        and Branch.objects.for_user(user).filter(pk=branch_pk).exists()
    )


def _sees_schedule(user, rest: str) -> bool:
    """The doctor's own day, or any doctor's of the listener's branches (calendar right)."""
    doctor_id, _sep, _day = rest.partition(".")
    doctor_pk = parse_id(doctor_id)
    if not doctor_pk:
        return False
    if Employee.objects.filter(pk=doctor_pk, user=user).exists():
        return has_module_perm(user, "schedule", "view") or has_module_perm(
            user, "calendar", "view"
        )
    return (
        has_module_perm(user, "calendar", "view")
        and Employee.objects.doctors().for_user(user).filter(pk=doctor_pk).exists()
    )


live.register_topic("calendar", _sees_branch_day)
live.register_topic("waitlist", _sees_waitlist)
live.register_topic("schedule", _sees_schedule)


def _status_name(code: str) -> str:
    from calendar_app.selectors import status_styles

    return status_styles().get(code, {}).get("name", code)


timeline.describe(
    "appointment.created",
    "calendar-plus",
    lambda p: _("Booked for %(start_display)s, doctor %(doctor)s") % p,
)
timeline.describe(
    "appointment.updated",
    "calendar-event",
    lambda p: _("Visit changed: now %(start_display)s, doctor %(doctor)s") % p,
)
timeline.describe(
    "appointment.status_changed",
    "calendar-check",
    lambda p: (
        _("Visit of %(start)s: %(status)s")
        % {"start": p["start_display"], "status": _status_name(p["status"])}
    ),
)
timeline.describe(
    "appointment.cancelled",
    "calendar-x",
    lambda p: (
        _("Visit of %(start)s cancelled: %(reason)s")
        % {"start": p["start_display"], "reason": p.get("reason", "")}
    ),
)
timeline.describe("appointment.deleted", "calendar-minus", lambda p: _("A visit was deleted"))
timeline.describe(
    "appointment.restored", "calendar-plus", lambda p: _("A deleted visit was restored")
)
timeline.describe("waitlist.added", "hourglass", lambda p: _("Added to the waiting list"))
timeline.describe(
    "waitlist.booked", "hourglass-bottom", lambda p: _("Booked from the waiting list")
)


def _seed(log) -> None:
    from calendar_app.demo import seed_calendar

    seed_calendar(log)


demo.register_seeder(20, "calendar", _seed)


def _next_visit_start(since: datetime.datetime) -> Subquery:
    """The patient's first visit from ``since`` on that they are expected at (the
    (patient, start) index: one short range per patient ranked)."""
    visits = (
        Appointment.objects.occupying()
        .exclude(status=StatusCode.NO_SHOW)
        .filter(patient=OuterRef("pk"), start__gte=since)
        .order_by("start")
        .values("start")[:1]
    )
    return Subquery(visits)


next_visit.register(_next_visit_start)

# The patient card shows the patient's visits, with booking, moving and cancelling.
card_panels.register(
    card_panels.CardPanel(
        "visits",
        "calendar:patient-visits",
        right=("calendar", "view"),
        refresh_on=("calendarChanged",),
        order=10,
    )
)

timeline.register_kind(
    timeline.Kind("visits", gettext_lazy("Visits"), ("appointment.", "waitlist."), order=20)
)
