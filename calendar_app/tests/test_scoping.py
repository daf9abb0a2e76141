"""Branch scoping of the calendar: a user of one branch reaches nothing of another.

The URL walk (``clinic/tests/test_url_permissions.py``) checks every URL with the other
branch's objects; these tests pin what a status code cannot show: what the pages list, a
doctor who works in both branches, the recycle bin's rows, the live topics.
"""

import datetime

import pytest
from django.urls import reverse

from calendar_app.models import Appointment, WaitingListEntry, WorkShift
from clinic import live, services, testing
from clinic.models import AuditEntry, OutboxEvent
from clinic.tests.factories import EmployeeFactory

from .factories import AppointmentFactory, WaitingListEntryFactory, WorkShiftFactory


def visit(clinic, hour, **kwargs):
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


@pytest.fixture
def there(yekaterinburg_clinic):
    return yekaterinburg_clinic


# --- The doctor's schedule -------------------------------------------------------------


def test_a_status_tap_on_another_branchs_visit_is_not_found_and_changes_nothing(
    manager_client, clinic, there
):
    """The issue: POST /schedule/appointments/<id>/status/ answered 204 and changed it."""
    visit_there = visit(there, 10)
    audit, outbox = AuditEntry.objects.count(), OutboxEvent.objects.count()
    response = manager_client.post(
        reverse("schedule:status", args=[visit_there.pk]), {"status": "arrived"}
    )
    assert response.status_code == 404
    visit_there.refresh_from_db()
    assert visit_there.status == "planned"
    assert (AuditEntry.objects.count(), OutboxEvent.objects.count()) == (audit, outbox)


def test_the_calendar_route_to_the_same_visit_is_not_found_either(manager_client, there):
    visit_there = visit(there, 10)
    url = reverse("calendar:appointment-status", args=[visit_there.pk])
    assert manager_client.post(url, {"status": "arrived"}).status_code == 404


@pytest.mark.parametrize("role", ["management", "doctor"])
def test_another_branchs_doctor_schedule_is_not_found(client, branch, clinic, there, role):
    """The issue: /schedule/?doctor=<other branch's doctor> showed their patients."""
    visit(there, 10)
    client.force_login(testing.make_persona(role, branch).user)
    response = client.get(
        reverse("schedule:day"), {"doctor": there.doctor.pk, "date": there.day.isoformat()}
    )
    assert response.status_code == 404


def test_the_schedule_offers_only_the_doctors_of_the_users_branches(manager_client, clinic, there):
    response = manager_client.get(reverse("schedule:day"))
    offered = {doctor.pk for doctor in response.context["doctors"]}
    assert {clinic.doctor.pk, clinic.doctor2.pk} <= offered
    assert not offered & {there.doctor.pk, there.doctor2.pk}
    assert there.doctor.last_name not in response.content.decode()


def test_a_doctor_of_both_branches_shows_only_the_users_branch(manager_client, clinic, there):
    both = EmployeeFactory(last_name="Обоих", branches=[clinic.branch, there.branch])
    here = visit(clinic, 10, doctor=both)
    # 14:00 in Yekaterinburg is 12:00 in Moscow: the same day, no overlap for the doctor.
    visit(there, 14, doctor=both)
    response = manager_client.get(
        reverse("schedule:day"), {"doctor": both.pk, "date": clinic.day.isoformat()}
    )
    assert response.status_code == 200
    assert [v.pk for v, _steps in response.context["visits"]] == [here.pk]


def test_the_month_dots_count_only_the_users_branch(manager_client, clinic, there):
    both = EmployeeFactory(branches=[clinic.branch, there.branch])
    visit(there, 10, doctor=both, start=there.at(10), end=there.at(10, 30))
    response = manager_client.get(
        reverse("schedule:day"), {"doctor": both.pk, "date": clinic.day.isoformat()}
    )
    marked = [cell["date"] for week in response.context["month"] for cell in week if cell["marked"]]
    assert marked == []


# --- Slots API -------------------------------------------------------------------------


def slots(client, **params):
    day = params.pop("day")
    return client.get("/api/v1/slots", {"duration": 30, "date_from": day, "date_to": day, **params})


def test_the_slots_of_another_branchs_doctor_are_not_found(registrar_client, clinic, there):
    WorkShiftFactory(doctor=there.doctor, chair=there.chair1, start=there.at(9), end=there.at(12))
    assert slots(registrar_client, doctor=there.doctor.pk, day=there.day).status_code == 404


def test_the_slots_of_a_doctor_of_both_branches_are_the_users_branch_only(
    registrar_client, clinic, there
):
    """The issue: /api/v1/slots?doctor=<id> returned the other branch's free times."""
    both = EmployeeFactory(branches=[clinic.branch, there.branch])
    WorkShiftFactory(doctor=both, chair=clinic.chair2, start=clinic.at(19), end=clinic.at(20))
    WorkShiftFactory(doctor=both, chair=there.chair1, start=there.at(9), end=there.at(12))
    response = slots(registrar_client, doctor=both.pk, day=clinic.day)
    assert response.status_code == 200
    assert {slot["branch_id"] for slot in response.json()} == {clinic.branch.pk}


def test_a_superuser_gets_the_slots_of_every_branch(admin_client, clinic, there):
    both = EmployeeFactory(branches=[clinic.branch, there.branch])
    WorkShiftFactory(doctor=both, chair=clinic.chair2, start=clinic.at(19), end=clinic.at(20))
    WorkShiftFactory(doctor=both, chair=there.chair1, start=there.at(9), end=there.at(12))
    response = slots(admin_client, doctor=both.pk, day=clinic.day)
    assert {slot["branch_id"] for slot in response.json()} == {clinic.branch.pk, there.branch.pk}


# --- The booking dialog ----------------------------------------------------------------


def test_the_booking_dialog_fills_in_the_users_waiting_list_entry_and_chair(
    registrar_client, clinic
):
    entry = WaitingListEntryFactory(patient=clinic.patient, branch=clinic.branch)
    response = registrar_client.get(
        reverse("calendar:appointment-create"),
        {"branch": clinic.branch.pk, "waitlist": entry.pk, "chair": clinic.chair2.pk},
    )
    assert response.status_code == 200
    initial = response.context["form"].initial
    assert (initial["waitlist"], initial["chair"]) == (entry.pk, clinic.chair2.pk)


@pytest.mark.parametrize("param", ["waitlist", "chair"])
def test_the_booking_dialog_does_not_find_another_branchs_entry_or_chair(
    registrar_client, clinic, there, param
):
    entry = WaitingListEntryFactory(patient=there.patient, branch=there.branch)
    value = entry.pk if param == "waitlist" else there.chair1.pk
    response = registrar_client.get(
        reverse("calendar:appointment-create"), {"branch": clinic.branch.pk, param: value}
    )
    assert response.status_code == 404


def test_booking_from_another_branchs_waiting_list_entry_is_not_found(
    registrar_client, clinic, there
):
    entry = WaitingListEntryFactory(patient=there.patient, branch=there.branch)
    response = registrar_client.post(
        reverse("calendar:appointment-create"),
        {
            "branch": clinic.branch.pk,
            "waitlist": entry.pk,
            "patient": clinic.patient.pk,
            "doctor": clinic.doctor.pk,
            "chair": clinic.chair1.pk,
            "date": clinic.day.isoformat(),
            "time": "10:00",
            "duration_minutes": 30,
        },
    )
    assert response.status_code == 404
    assert not Appointment.objects.exists()


# --- Live topics -----------------------------------------------------------------------


def test_only_the_doctors_branches_may_listen_to_their_schedule(manager, doctor, clinic, there):
    day = clinic.day.isoformat()
    assert live.may_listen(manager.user, f"schedule.{clinic.doctor.pk}.{day}")
    assert not live.may_listen(manager.user, f"schedule.{there.doctor.pk}.{day}")
    # A doctor always hears their own day.
    assert live.may_listen(doctor.user, f"schedule.{doctor.employee.pk}.{day}")


# --- The recycle bin -------------------------------------------------------------------


@pytest.fixture
def deleted_in_both(clinic, there, admin_persona):
    """A deleted visit, shift and waiting-list entry in each branch."""
    made = {}
    for name, world in (("here", clinic), ("there", there)):
        objects = [
            visit(world, 10, chair=world.chair2, doctor=world.doctor2),
            WorkShiftFactory(
                doctor=world.doctor2,
                chair=world.chair2,
                start=world.at(9, day=world.day + datetime.timedelta(days=1)),
                end=world.at(12, day=world.day + datetime.timedelta(days=1)),
            ),
            WaitingListEntryFactory(patient=world.patient, branch=world.branch),
        ]
        for obj in objects:
            services.object_soft_delete(obj=obj, by=admin_persona.user)
        made[name] = objects
    return made


SECTIONS = [("appointments", Appointment), ("shifts", WorkShift), ("waitlist", WaitingListEntry)]


def test_the_recycle_bin_counts_and_lists_only_the_users_branches(manager_client, deleted_in_both):
    for index, (section, _model) in enumerate(SECTIONS):
        page = manager_client.get(reverse("clinic:trash"), {"section": section})
        counts = {entry["section"].key: entry["count"] for entry in page.context["sections"]}
        assert counts[section] == 1
        listed = [obj.pk for obj in page.context["page"].object_list]
        assert listed == [deleted_in_both["here"][index].pk]


def test_the_recycle_bin_does_not_restore_another_branchs_rows(manager_client, deleted_in_both):
    for index, (section, model) in enumerate(SECTIONS):
        obj = deleted_in_both["there"][index]
        response = manager_client.post(reverse("clinic:trash-restore", args=[section, obj.pk]))
        assert response.status_code == 404
        assert model.all_objects.get(pk=obj.pk).is_deleted


def test_the_recycle_bin_restores_the_users_own_rows(manager_client, deleted_in_both):
    for index, (section, model) in enumerate(SECTIONS):
        obj = deleted_in_both["here"][index]
        response = manager_client.post(reverse("clinic:trash-restore", args=[section, obj.pk]))
        assert response.status_code == 302
        assert not model.all_objects.get(pk=obj.pk).is_deleted
