"""Deleting what the future depends on: a patient's card, a chair, an employee.

One policy for the three (``clinic.dependents``): the delete dialog lists the upcoming
visits and shifts; confirming cancels the visits (with the reason) and deletes the shifts
in the same transaction; a list that changed since the dialog, or visits in a branch the
user does not work in, refuse the delete. Restoring brings nothing back, and nothing is
booked again on what is in the recycle bin.
"""

import datetime
import re
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from calendar_app import services
from calendar_app.models import Appointment, StatusCode, WaitingListEntry, WorkShift
from clinic import dependents, testing
from clinic import services as clinic_services
from clinic.models import AuditEntry, Chair, Employee, OutboxEvent
from patients.models import Patient
from patients.tests.factories import PatientFactory

from .factories import AppointmentFactory, WaitingListEntryFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def visit(clinic, hour, **kwargs) -> Appointment:
    return AppointmentFactory(
        **{
            "patient": clinic.patient,
            "doctor": clinic.doctor,
            "chair": clinic.chair1,
            "start": clinic.at(hour),
            "end": clinic.at(hour, 30),
            **kwargs,
        }
    )


def delete_url(obj) -> str:
    if isinstance(obj, Patient):
        return reverse("patients:delete", args=[obj.pk])
    if isinstance(obj, Chair):
        return reverse("clinic:chair-delete", args=[obj.pk])
    return reverse("clinic:employee-delete", args=[obj.pk])


def listed(response) -> list[str]:
    """The keys of the visits and shifts the dialog lists."""
    return re.findall(r'data-dependent="([^"]+)"', response.content.decode())


def confirmation_in(response) -> str:
    match = re.search(r'name="confirm" value="([^"]*)"', response.content.decode())
    assert match, "the dialog has no confirmation field"
    return match.group(1)


def confirmed(client, obj) -> str:
    """The confirmation the dialog shows for ``obj`` now."""
    return confirmation_in(client.get(delete_url(obj), **HTMX))


@pytest.fixture
def past(clinic):
    """A completed visit last week: history, untouched by any delete."""
    start = timezone.now().replace(microsecond=0) - datetime.timedelta(days=7)
    return AppointmentFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=start,
        end=start + datetime.timedelta(minutes=30),
        status=StatusCode.COMPLETED,
    )


# --- The dialog ------------------------------------------------------------------------------


def test_the_dialog_lists_the_patients_upcoming_visits(admin_client, clinic, past):
    first, second = visit(clinic, 10), visit(clinic, 14, chair=clinic.chair2)
    response = admin_client.get(delete_url(clinic.patient), **HTMX)
    assert response.status_code == 200
    assert listed(response) == [f"appointment:{first.pk}", f"appointment:{second.pk}"]
    html = response.content.decode()
    assert f"{clinic.day:%d.%m.%Y} 10:00–10:30" in html  # in the branch's time
    assert clinic.doctor.short_name in html and "Кресло 2" in html and clinic.branch.name in html
    assert "data-delete-confirm" in html
    assert confirmation_in(response) == dependents.confirmation(dependents.of(clinic.patient))


def test_the_dialog_reads_a_bounded_number_of_queries(
    admin_client, clinic, django_assert_max_num_queries
):
    for hour in (9, 10, 11):
        visit(clinic, hour)
    with django_assert_max_num_queries(30) as few:
        admin_client.get(delete_url(clinic.patient), **HTMX)
    for hour in (12, 13, 14, 15, 16, 17, 18):
        visit(clinic, hour)
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(delete_url(clinic.patient), **HTMX)


def test_without_dependents_the_dialog_only_asks(admin_client, clinic, past):
    response = admin_client.get(delete_url(clinic.patient), **HTMX)
    assert listed(response) == []
    assert "data-dependents" not in response.content.decode()
    assert "data-delete-confirm" in response.content.decode()


# --- Patients ---------------------------------------------------------------------------------


def test_deleting_a_patient_unconfirmed_changes_nothing(admin_client, clinic):
    upcoming = visit(clinic, 10)
    audit, outbox = AuditEntry.objects.count(), OutboxEvent.objects.count()
    response = admin_client.post(delete_url(clinic.patient), **HTMX)
    assert response.status_code == 409
    assert listed(response) == [f"appointment:{upcoming.pk}"]
    assert Patient.objects.filter(pk=clinic.patient.pk).exists()
    assert Appointment.objects.get(pk=upcoming.pk).status == StatusCode.PLANNED
    assert (AuditEntry.objects.count(), OutboxEvent.objects.count()) == (audit, outbox)


def test_deleting_a_patient_cancels_their_upcoming_visits_and_waiting_list(
    admin_client, clinic, past, django_capture_on_commit_callbacks
):
    """The issue: the deleted patient's future visits stayed on the calendar."""
    upcoming = visit(clinic, 10)
    entry = WaitingListEntryFactory(patient=clinic.patient, branch=clinic.branch)
    confirm = confirmed(admin_client, clinic.patient)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(delete_url(clinic.patient), {"confirm": confirm}, **HTMX)
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("patients:list")
    assert Patient.all_objects.get(pk=clinic.patient.pk).is_deleted
    upcoming.refresh_from_db()
    assert upcoming.status == StatusCode.CANCELLED
    assert upcoming.cancel_reason == _("The patient's card was deleted.")
    assert WaitingListEntry.all_objects.get(pk=entry.pk).is_deleted
    past.refresh_from_db()
    assert past.status == StatusCode.COMPLETED  # history stays
    events = set(OutboxEvent.objects.values_list("name", flat=True))
    assert {"appointment.cancelled", "waitlist.deleted", "patient.deleted"} <= events
    # Off the calendar and the doctor's day.
    feed = admin_client.get(
        reverse("calendar:feed-events"),
        {
            "branch": clinic.branch.pk,
            "start": clinic.day,
            "end": clinic.day + datetime.timedelta(days=1),
        },
    )
    assert feed.status_code == 200
    assert f"a{upcoming.pk}" not in [event["id"] for event in feed.json()]
    schedule = admin_client.get(
        reverse("schedule:day"), {"doctor": clinic.doctor.pk, "date": clinic.day.isoformat()}
    )
    assert upcoming.pk not in [v.pk for v, _steps in schedule.context["visits"]]


def test_restoring_the_patient_does_not_bring_the_visits_back(admin_persona, clinic):
    upcoming = visit(clinic, 10)
    confirm = dependents.confirmation(dependents.of(clinic.patient))
    clinic_services.object_soft_delete(obj=clinic.patient, by=admin_persona.user, confirm=confirm)
    clinic_services.object_restore(obj=clinic.patient, by=admin_persona.user)
    assert Patient.objects.filter(pk=clinic.patient.pk).exists()
    assert Appointment.objects.get(pk=upcoming.pk).status == StatusCode.CANCELLED


# --- Chairs --------------------------------------------------------------------------------


def test_deleting_a_chair_cancels_its_visits_deletes_its_shifts_and_frees_the_doctor(
    admin_client, admin_persona, clinic
):
    """The issue: the chair's visits were invisible in the calendar but blocked the doctor."""
    upcoming = visit(clinic, 10)
    shift = WorkShift.objects.get(chair=clinic.chair1)
    confirm = confirmed(admin_client, clinic.chair1)
    response = admin_client.post(delete_url(clinic.chair1), {"confirm": confirm}, **HTMX)
    assert response.status_code == 204
    assert Chair.all_objects.get(pk=clinic.chair1.pk).is_deleted
    assert Appointment.objects.get(pk=upcoming.pk).status == StatusCode.CANCELLED
    assert WorkShift.all_objects.get(pk=shift.pk).is_deleted
    # The doctor is free at 10:00 again, on another chair.
    services.appointment_book(
        by=admin_persona.user,
        patient=clinic.patient,
        doctor=clinic.doctor,
        chair=clinic.chair2,
        start=clinic.at(10),
        end=clinic.at(10, 30),
        allow_outside_shift=True,
    )


def test_a_restored_chair_comes_back_empty_and_its_shift_only_by_itself(admin_persona, clinic):
    upcoming = visit(clinic, 10)
    shift = WorkShift.objects.get(chair=clinic.chair1)
    confirm = dependents.confirmation(dependents.of(clinic.chair1))
    clinic_services.object_soft_delete(obj=clinic.chair1, by=admin_persona.user, confirm=confirm)
    # While the chair is in the recycle bin, its shift cannot come back.
    with pytest.raises(
        ValidationError,
        match=re.escape(_("The chair %(chair)s has been deleted.").split("%(chair)s")[0]),
    ):
        clinic_services.object_restore(obj=shift, by=admin_persona.user)
    clinic_services.object_restore(obj=clinic.chair1, by=admin_persona.user)
    assert Appointment.objects.get(pk=upcoming.pk).status == StatusCode.CANCELLED
    assert WorkShift.all_objects.get(pk=shift.pk).is_deleted
    clinic_services.object_restore(obj=shift, by=admin_persona.user)
    assert WorkShift.objects.filter(pk=shift.pk).exists()


# --- Employees -----------------------------------------------------------------------------


def test_deactivating_a_doctor_cancels_their_visits_and_deletes_their_shifts(admin_client, clinic):
    upcoming = visit(clinic, 10)
    other_doctors = visit(clinic, 13, doctor=clinic.doctor2, chair=clinic.chair2)
    confirm = confirmed(admin_client, clinic.doctor)
    response = admin_client.post(delete_url(clinic.doctor), {"confirm": confirm}, **HTMX)
    assert response.status_code == 204
    assert Employee.all_objects.get(pk=clinic.doctor.pk).is_deleted
    assert Appointment.objects.get(pk=upcoming.pk).cancel_reason == _("The doctor was deactivated.")
    assert not WorkShift.objects.filter(doctor=clinic.doctor).exists()
    assert Appointment.objects.get(pk=other_doctors.pk).status == StatusCode.PLANNED


def test_nothing_is_booked_or_brought_back_on_what_is_in_the_recycle_bin(admin_persona, clinic):
    deleted_visit = visit(clinic, 9)
    clinic_services.object_soft_delete(obj=deleted_visit, by=admin_persona.user)
    cancelled = visit(clinic, 11, status=StatusCode.CANCELLED)
    for obj in (clinic.doctor, clinic.patient):
        confirm = dependents.confirmation(dependents.of(obj))
        clinic_services.object_soft_delete(obj=obj, by=admin_persona.user, confirm=confirm)
    with pytest.raises(
        ValidationError,
        match=re.escape(_("%(doctor)s has been deactivated.").split("%(doctor)s")[-1]),
    ):
        services.appointment_book(
            by=admin_persona.user,
            patient=PatientFactory(),
            doctor=clinic.doctor,
            chair=clinic.chair1,
            start=clinic.at(12),
            end=clinic.at(12, 30),
        )
    with pytest.raises(
        ValidationError,
        match=re.escape(_("The card of %(patient)s has been deleted.").split("%(patient)s")[0]),
    ):
        services.appointment_book(
            by=admin_persona.user,
            patient=clinic.patient,
            doctor=clinic.doctor2,
            chair=clinic.chair2,
            start=clinic.at(13),
            end=clinic.at(13, 30),
        )
    with pytest.raises(
        ValidationError,
        match=re.escape(_("%(doctor)s has been deactivated.").split("%(doctor)s")[-1]),
    ):
        clinic_services.object_restore(obj=deleted_visit, by=admin_persona.user)
    with pytest.raises(
        ValidationError,
        match=re.escape(_("%(doctor)s has been deactivated.").split("%(doctor)s")[-1]),
    ):
        services.appointment_set_status(
            appointment=cancelled, by=admin_persona.user, status=StatusCode.PLANNED
        )
    assert Appointment.all_objects.get(pk=deleted_visit.pk).is_deleted
    assert Appointment.objects.get(pk=cancelled.pk).status == StatusCode.CANCELLED


def test_a_waiting_list_entry_comes_back_only_with_its_patient(admin_persona, clinic):
    entry = WaitingListEntryFactory(patient=clinic.patient, branch=clinic.branch)
    confirm = dependents.confirmation(dependents.of(clinic.patient))
    clinic_services.object_soft_delete(obj=clinic.patient, by=admin_persona.user, confirm=confirm)
    with pytest.raises(
        ValidationError,
        match=re.escape(_("The card of %(patient)s has been deleted.").split("%(patient)s")[0]),
    ):
        clinic_services.object_restore(obj=entry, by=admin_persona.user)
    clinic_services.object_restore(obj=clinic.patient, by=admin_persona.user)
    clinic_services.object_restore(obj=entry, by=admin_persona.user)
    assert WaitingListEntry.objects.filter(pk=entry.pk).exists()


# --- Branches -------------------------------------------------------------------------------


def test_deleting_a_branch_cancels_its_visits_and_deletes_its_shifts(
    admin_client, branch_elsewhere, clinic
):
    """The same policy: a deleted branch's visits must not keep blocking its doctors."""
    upcoming = visit(clinic, 10)
    entry = WaitingListEntryFactory(patient=clinic.patient, branch=clinic.branch)
    url = reverse("clinic:branch-delete", args=[clinic.branch.pk])
    dialog = admin_client.get(url, **HTMX)
    assert f"appointment:{upcoming.pk}" in listed(dialog)
    assert f"waitlist:{entry.pk}" in listed(dialog)
    assert len([key for key in listed(dialog) if key.startswith("shift:")]) == 2
    response = admin_client.post(url, {"confirm": confirmation_in(dialog)}, **HTMX)
    assert response.status_code == 204
    assert Appointment.objects.get(pk=upcoming.pk).cancel_reason == _("The branch was deleted.")
    assert not WorkShift.objects.filter(branch=clinic.branch).exists()
    assert WaitingListEntry.all_objects.get(pk=entry.pk).is_deleted


# --- A confirmation names exactly what it cancels --------------------------------------------


@pytest.mark.parametrize("change", ["booked", "moved"])
def test_a_list_that_changed_since_the_dialog_refuses_the_delete(
    admin_client, admin_persona, clinic, change
):
    upcoming = visit(clinic, 10)
    confirm = confirmed(admin_client, clinic.patient)
    if change == "booked":
        visit(clinic, 12, chair=clinic.chair2, doctor=clinic.doctor2)
    else:
        services.appointment_move(
            appointment=upcoming, by=admin_persona.user, start=clinic.at(11), end=clinic.at(11, 30)
        )
    response = admin_client.post(delete_url(clinic.patient), {"confirm": confirm}, **HTMX)
    assert response.status_code == 409
    assert "data-delete-changed" in response.content.decode()
    assert confirmation_in(response) != confirm
    assert Patient.objects.filter(pk=clinic.patient.pk).exists()
    assert Appointment.objects.get(pk=upcoming.pk).status == StatusCode.PLANNED


def test_visits_in_a_branch_the_user_does_not_work_in_refuse_the_delete(
    client, branch, clinic, yekaterinburg_clinic
):
    """A one-branch user cannot cancel another branch's visits, nor see them."""
    manager = testing.make_persona("management", branch)
    client.force_login(manager.user)
    here = visit(clinic, 10)
    there = visit(
        yekaterinburg_clinic,
        16,
        patient=clinic.patient,
        doctor=yekaterinburg_clinic.doctor,
        chair=yekaterinburg_clinic.chair1,
    )
    dialog = client.get(delete_url(clinic.patient), **HTMX)
    html = dialog.content.decode()
    assert listed(dialog) == [f"appointment:{here.pk}"]
    assert yekaterinburg_clinic.branch.name in html  # named in the refusal
    assert yekaterinburg_clinic.doctor.short_name not in html
    assert "data-delete-confirm" not in html
    response = client.post(delete_url(clinic.patient), {"confirm": confirmation_in(dialog)}, **HTMX)
    assert response.status_code == 409
    assert "data-delete-refused" in response.content.decode()
    assert Patient.objects.filter(pk=clinic.patient.pk).exists()
    assert Appointment.objects.get(pk=there.pk).status == StatusCode.PLANNED


# --- Locks -------------------------------------------------------------------------------------


def _wait_until_someone_waits_for_a_lock(timeout: float = 10) -> None:
    import time

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Inside a transaction the activity view is a snapshot: take a fresh one.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("nobody waited for a lock")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_deleting_a_chair_while_its_visit_is_moved_does_not_deadlock(transactional_db, branch):
    """A move locks its visit, then the chair; the delete must take them in that order too.
    Here the move holds the visit when the delete starts: the delete waits, the move ends,
    and the delete sees the visit moved (so asks again) instead of a deadlock."""
    from clinic.tests.factories import ChairFactory, EmployeeFactory

    from .conftest import next_monday

    chair = ChairFactory(branch=branch)
    doctor = EmployeeFactory(branches=[branch])
    admin = testing.make_admin(branch).user
    day = next_monday()
    at = lambda hour: datetime.datetime.combine(day, datetime.time(hour), tzinfo=branch.zone)  # noqa: E731
    WorkShift.objects.create(doctor=doctor, chair=chair, branch=branch, start=at(9), end=at(15))
    moved = AppointmentFactory(
        patient=PatientFactory(), doctor=doctor, chair=chair, start=at(10), end=at(11)
    )
    confirm = dependents.confirmation(dependents.of(chair))
    outcomes: dict[str, str] = {}
    holding = threading.Event()

    def move():
        try:
            with transaction.atomic():
                Appointment.objects.select_for_update(no_key=True).get(pk=moved.pk)
                holding.set()
                _wait_until_someone_waits_for_a_lock()
                services.appointment_move(appointment=moved, by=admin, start=at(12), end=at(13))
            outcomes["move"] = "moved"
        except Exception as exc:
            outcomes["move"] = f"error: {exc!r}"
        finally:
            connection.close()

    def delete():
        try:
            holding.wait(timeout=10)
            clinic_services.object_soft_delete(obj=chair, by=admin, confirm=confirm)
            outcomes["delete"] = "deleted"
        except dependents.ConfirmationNeeded:
            outcomes["delete"] = "asks again"
        except Exception as exc:
            outcomes["delete"] = f"error: {exc!r}"
        finally:
            connection.close()

    threads = [threading.Thread(target=move), threading.Thread(target=delete)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == {"move": "moved", "delete": "asks again"}
    assert not Chair.all_objects.get(pk=chair.pk).is_deleted
