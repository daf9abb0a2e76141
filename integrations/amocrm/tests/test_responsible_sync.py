"""The patient's responsible (coordinator) kept in step with amoCRM (issue 14, part 2), end to
end over HTTP against the fake amoCRM: Odonta's services or the fake's "manager" make the
change, ``amo.sync()`` runs the workers, and both sides are checked, down to the number of
writes each side made."""

import datetime

import pytest
import time_machine

from calendar_app import services as calendar
from clinic.tests.factories import EmployeeFactory
from integrations.amocrm.config import LEAD, SYSTEM
from integrations.amocrm.sync import settings_update
from integrations.amocrm.tests.ui import setup_url
from integrations.models import Connection, ExternalLink, SyncLogEntry
from patients import services as patients
from patients.models import Patient

from .helpers import book, contact_of, lead_of, new_patient

pytestmark = pytest.mark.django_db

ALL = ("contact", "lead")


@pytest.fixture
def people(amo, desk):
    """Two coordinators paired with the fake's 2nd and 3rd users, one paired with nobody;
    the fake's 1st user (the administrator) is paired with no employee."""
    first, second, third = amo.fake.user_ids[:3]
    paired_a = EmployeeFactory(last_name="Координаторова", first_name="Анна")
    paired_b = EmployeeFactory(last_name="Управляев", first_name="Олег")
    unpaired = EmployeeFactory(last_name="Непарная", first_name="Ирина")
    settings_update(amo.connection, users={str(paired_a.pk): second, str(paired_b.pk): third})
    return {
        "a": paired_a,
        "b": paired_b,
        "unpaired": unpaired,
        "user_a": second,
        "user_b": third,
        "admin_user": first,
    }


def switch(amo, *, into=(), out=(), settle: int = 5) -> None:
    settings_update(
        amo.connection,
        responsible={
            "in": {kind: kind in into for kind in ALL},
            "out": {kind: kind in out for kind in ALL},
            "settle_seconds": settle,
        },
    )


def responsible_writes(amo, since: int = 0) -> list[tuple[str, int, int]]:
    """(entity, id, user) of every write carrying a responsible the fake received."""
    found = []
    for request in amo.fake.journal[since:]:
        if request.method != "PATCH" or not request.path.startswith("/api/v4/"):
            continue
        kind = "contact" if "contacts" in request.path else "lead"
        body = request.json()
        for item in body if isinstance(body, list) else [body]:
            if "responsible_user_id" in item:
                found.append((kind, item["id"], item["responsible_user_id"]))
    return found


def patient_with_visits(amo, desk, **data) -> tuple[Patient, list]:
    patient = new_patient(desk["user"], **data)
    visits = [book(desk, patient, days=2), book(desk, patient, days=4)]
    amo.sync()
    return patient, visits


def log_lines(direction: str, result: str | None = None):
    lines = SyncLogEntry.objects.filter(system=SYSTEM, action="responsible.update")
    lines = lines.filter(direction=direction)
    return list(lines.filter(result=result) if result else lines)


# --- Odonta -> amoCRM ---------------------------------------------------------------------


def test_a_coordinator_changed_in_odonta_goes_to_the_contact_and_every_open_deal(amo, desk, people):
    switch(amo, out=ALL)
    patient, (open_visit, done_visit) = patient_with_visits(amo, desk)
    calendar.appointment_set_status(appointment=done_visit, by=desk["user"], status="completed")
    amo.sync()
    closed_before = lead_of(amo, done_visit)["responsible_user_id"]
    mark = len(amo.fake.journal)

    patients.patient_update(patient=patient, by=desk["user"], data={"coordinator": people["a"]})
    amo.sync()
    amo.sync()

    contact = contact_of(amo, patient)
    assert contact["responsible_user_id"] == people["user_a"]
    assert lead_of(amo, open_visit)["responsible_user_id"] == people["user_a"]
    assert lead_of(amo, done_visit)["responsible_user_id"] == closed_before  # a won deal
    # One write per entity, and the echoes of those writes changed nothing in Odonta.
    assert sorted(responsible_writes(amo, mark)) == sorted(
        [
            ("contact", contact["id"], people["user_a"]),
            ("lead", lead_of(amo, open_visit)["id"], people["user_a"]),
        ]
    )
    patient.refresh_from_db()
    assert patient.coordinator == people["a"]
    assert not log_lines("in")
    (line,) = log_lines("out", "ok")
    assert line.changes["source"].startswith("Odonta: Registrar")  # who changed it
    assert line.changes["responsible_user_id"] == [None, people["user_a"]]
    assert set(line.changes["written"]) == {
        f"contact {contact['id']}",
        f"deal {lead_of(amo, open_visit)['id']}",
    }


@pytest.mark.parametrize(
    ("out", "contact_follows", "deal_follows"),
    [((), False, False), (("contact",), True, False), (("lead",), False, True)],
)
def test_the_outgoing_switches_choose_the_entities_written(
    amo, desk, people, out, contact_follows, deal_follows
):
    switch(amo, into=ALL, out=out)
    patient, (visit, _later) = patient_with_visits(amo, desk)
    contact_before = contact_of(amo, patient)["responsible_user_id"]
    deal_before = lead_of(amo, visit)["responsible_user_id"]

    patients.patient_update(patient=patient, by=desk["user"], data={"coordinator": people["b"]})
    amo.sync()

    contact_now = contact_of(amo, patient)["responsible_user_id"]
    deal_now = lead_of(amo, visit)["responsible_user_id"]
    assert contact_now == (people["user_b"] if contact_follows else contact_before)
    assert deal_now == (people["user_b"] if deal_follows else deal_before)
    patient.refresh_from_db()
    assert patient.coordinator == people["b"]  # nothing came back from amoCRM


def test_with_deals_out_a_new_deal_carries_the_patients_responsible_not_the_doctors(
    amo, desk, people
):
    settings_update(
        amo.connection,
        users={**amo.connection.settings["users"], str(desk["doctor"].pk): people["admin_user"]},
    )
    switch(amo, out=("lead",))
    patient = new_patient(desk["user"], coordinator=people["b"])
    visit = book(desk, patient)
    amo.sync()
    assert lead_of(amo, visit)["responsible_user_id"] == people["user_b"]

    switch(amo)  # off: today's behaviour, the doctor's user
    other = book(desk, patient, days=6)
    amo.sync()
    assert lead_of(amo, other)["responsible_user_id"] == people["admin_user"]


def test_a_coordinator_without_an_amocrm_user_writes_nothing_and_is_reported(amo, desk, people):
    switch(amo, out=ALL)
    patient, (_visit, _later) = patient_with_visits(amo, desk)
    mark = len(amo.fake.journal)

    patients.patient_update(
        patient=patient, by=desk["user"], data={"coordinator": people["unpaired"]}
    )
    amo.sync()

    assert responsible_writes(amo, mark) == []
    (line,) = log_lines("out", "skipped")
    assert "Непарная" in line.error and "no amoCRM user" in line.error


# --- amoCRM -> Odonta ---------------------------------------------------------------------


def test_a_contacts_new_responsible_becomes_the_coordinator_and_is_not_written_back(
    amo, desk, people
):
    switch(amo, into=ALL, out=ALL)
    patient, _visits = patient_with_visits(amo, desk)
    contact_id = contact_of(amo, patient)["id"]
    mark = len(amo.fake.journal)

    amo.fake.ui_update_contact(contact_id, responsible_user_id=people["user_b"])
    amo.sync()
    amo.sync()

    patient.refresh_from_db()
    assert patient.coordinator == people["b"]
    assert responsible_writes(amo, mark) == []  # no bounce, to the contact or the deals
    (line,) = log_lines("in", "ok")
    assert line.changes["source"] == f"contact {contact_id}"
    assert line.changes["coordinator"] == ["", str(people["b"])]


def test_a_deals_new_responsible_becomes_the_coordinator(amo, desk, people):
    switch(amo, into=("lead",))
    patient, (visit, _later) = patient_with_visits(amo, desk)
    lead_id = lead_of(amo, visit)["id"]

    amo.fake.ui_update_lead(lead_id, responsible_user_id=people["user_a"])
    amo.sync()

    patient.refresh_from_db()
    assert patient.coordinator == people["a"]
    (line,) = log_lines("in", "ok")
    assert line.changes["source"] == f"deal {lead_id}"


@pytest.mark.parametrize("into", [(), ("lead",)])
def test_a_contacts_change_is_ignored_when_its_switch_is_off(amo, desk, people, into):
    switch(amo, into=into)
    patient, (_visit, _later) = patient_with_visits(amo, desk)

    amo.fake.ui_update_contact(contact_of(amo, patient)["id"], responsible_user_id=people["user_b"])
    amo.sync()

    patient.refresh_from_db()
    assert patient.coordinator is None
    assert not log_lines("in")


def test_a_deals_change_is_ignored_when_its_switch_is_off(amo, desk, people):
    switch(amo, into=("contact",))
    patient, (visit, _later) = patient_with_visits(amo, desk)

    amo.fake.ui_update_lead(lead_of(amo, visit)["id"], responsible_user_id=people["user_b"])
    amo.sync()

    patient.refresh_from_db()
    assert patient.coordinator is None


def test_an_amocrm_user_paired_with_no_employee_leaves_the_patient_and_is_reported(
    amo, desk, people
):
    switch(amo, into=ALL)
    settings_update(amo.connection, users={str(people["a"].pk): people["user_a"]})  # b unpaired
    patient, _visits = patient_with_visits(amo, desk, coordinator=people["a"])
    contact_id = contact_of(amo, patient)["id"]

    amo.fake.ui_update_contact(contact_id, responsible_user_id=people["user_b"])
    amo.sync()

    patient.refresh_from_db()
    assert patient.coordinator == people["a"]
    (line,) = log_lines("in", "skipped")
    assert f"amoCRM user {people['user_b']}" in line.error
    assert "mapped to no employee" in line.error


# --- Last change wins, the settle window, quiet ------------------------------------------


@pytest.mark.parametrize("reverse", [False, True])
def test_of_interleaved_changes_the_later_wins_whatever_order_the_webhooks_come_in(
    amo, desk, people, reverse
):
    switch(amo, into=ALL)
    patient, (visit, _later) = patient_with_visits(amo, desk)
    contact_id = contact_of(amo, patient)["id"]
    amo.fake.hooks.batch_size = 1  # one webhook per change, so their order is ours to set
    with time_machine.travel(datetime.datetime.now(tz=datetime.UTC), tick=True) as clock:
        amo.fake.ui_update_lead(lead_of(amo, visit)["id"], responsible_user_id=people["user_a"])
        clock.shift(3)
        amo.fake.ui_update_contact(contact_id, responsible_user_id=people["user_b"])
        if reverse:
            with amo.fake.lock:
                amo.fake.hooks.pending.reverse()
        amo.sync()

    patient.refresh_from_db()
    assert patient.coordinator == people["b"]  # the contact's change is the later one
    if reverse:
        (skipped,) = log_lines("in", "skipped")
        assert "Older than the value in force" in skipped.error
        assert skipped.changes["source"].startswith("deal ")


def test_a_crossing_change_within_the_settle_time_is_not_applied_back_and_later_one_is(
    amo, desk, people
):
    switch(amo, into=ALL, out=("contact",))
    patient, _visits = patient_with_visits(amo, desk)
    contact_id = contact_of(amo, patient)["id"]
    with time_machine.travel(datetime.datetime.now(tz=datetime.UTC), tick=True) as clock:
        patients.patient_update(patient=patient, by=desk["user"], data={"coordinator": people["a"]})
        amo.sync()
        assert contact_of(amo, patient)["responsible_user_id"] == people["user_a"]
        mark = len(amo.fake.journal)

        clock.shift(2)  # a manager who had the card open before Odonta's change saves it
        amo.fake.ui_update_contact(contact_id, responsible_user_id=people["user_b"])
        amo.sync()

        patient.refresh_from_db()
        assert patient.coordinator == people["a"]
        (settling,) = log_lines("in", "skipped")
        assert settling.error.startswith("Settling")
        # The contact gets Odonta's value back, once, and all is quiet.
        assert responsible_writes(amo, mark) == [("contact", contact_id, people["user_a"])]
        assert contact_of(amo, patient)["responsible_user_id"] == people["user_a"]

        clock.shift(10)  # past the window: a new decision in amoCRM
        amo.fake.ui_update_contact(contact_id, responsible_user_id=people["user_b"])
        amo.sync()

    patient.refresh_from_db()
    assert patient.coordinator == people["b"]
    assert len(responsible_writes(amo, mark)) == 1


def test_a_person_changing_the_coordinator_right_after_amocrm_did_is_sent(amo, desk, people):
    switch(amo, into=ALL, out=ALL)
    patient, _visits = patient_with_visits(amo, desk)
    contact_id = contact_of(amo, patient)["id"]
    with time_machine.travel(datetime.datetime.now(tz=datetime.UTC), tick=True) as clock:
        amo.fake.ui_update_contact(contact_id, responsible_user_id=people["user_b"])
        amo.sync()
        patient.refresh_from_db()
        assert patient.coordinator == people["b"]
        clock.shift(1)
        patients.patient_update(patient=patient, by=desk["user"], data={"coordinator": people["a"]})
        amo.sync()

    assert contact_of(amo, patient)["responsible_user_id"] == people["user_a"]


def test_one_change_on_either_side_makes_one_write_on_the_other_and_then_quiet(amo, desk, people):
    switch(amo, into=ALL, out=ALL)
    patient, (_visit, later) = patient_with_visits(amo, desk)
    audit_before = patient_updates(patient)
    mark = len(amo.fake.journal)

    with time_machine.travel(datetime.datetime.now(tz=datetime.UTC), tick=True) as clock:
        patients.patient_update(patient=patient, by=desk["user"], data={"coordinator": people["a"]})
        for _round in range(3):
            amo.sync()
        assert len(responsible_writes(amo, mark)) == 3  # the contact and the two open deals
        assert patient_updates(patient) == audit_before + 1  # the person's own change only

        clock.shift(10)  # past the settle time
        mark = len(amo.fake.journal)
        amo.fake.ui_update_lead(lead_of(amo, later)["id"], responsible_user_id=people["user_b"])
        for _round in range(3):
            amo.sync()
    assert responsible_writes(amo, mark) == []
    assert patient_updates(patient) == audit_before + 2  # the sync's one write
    patient.refresh_from_db()
    assert patient.coordinator == people["b"]
    assert amo.rounds[-1] == {"events": 0, "pushed": 0, "webhooks": 0, "processed": 0}


def patient_updates(patient) -> int:
    from django.contrib.contenttypes.models import ContentType

    from clinic.models.audit import AuditEntry

    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Patient),
        object_id=str(patient.pk),
        action="update",
    ).count()


def test_turning_the_sync_on_does_not_replay_old_assignments(amo, desk, people):
    patient, (visit, _later) = patient_with_visits(amo, desk)
    amo.fake.ui_update_contact(contact_of(amo, patient)["id"], name="Смирнова Ольга Петровна")
    switch(amo, into=ALL)
    # A deal's stage change reads it; its responsible (set long before) is no change.
    amo.fake.ui_move_lead(lead_of(amo, visit)["id"], amo.fake.status_id("Подтверждён"))
    amo.sync()
    patient.refresh_from_db()
    assert patient.coordinator is None
    assert ExternalLink.objects.filter(external_type=LEAD).exists()


# --- The wizard -----------------------------------------------------------------------------


@pytest.fixture
def connection(fake_amo):
    from integrations.amocrm.tests.ui import connect_fake

    return connect_fake(fake_amo)


def test_the_users_step_saves_the_responsible_switches(manager_client, manager, connection):
    page = manager_client.get(setup_url("users"))
    assert page.status_code == 200
    assert b"data-responsible-sync" in page.content
    assert page.context["form"].initial["settle_seconds"] == 5

    response = manager_client.post(
        setup_url("users"),
        {"responsible_in_contact": "on", "responsible_out_lead": "on", "settle_seconds": "12"},
    )

    assert response.status_code == 302
    saved = Connection.objects.get(pk=connection.pk).settings["responsible"]
    assert saved == {
        "in": {"contact": True, "lead": False},
        "out": {"contact": False, "lead": True},
        "settle_seconds": 12,
    }


@pytest.mark.parametrize("value", ["0", "1000", "abc", "-3", "5.5", "9" * 40])
def test_the_users_step_refuses_a_bad_settle_time(manager_client, connection, value):
    response = manager_client.post(
        setup_url("users"), {"responsible_in_contact": "on", "settle_seconds": value}
    )
    assert response.status_code == 422
    assert "from 1 to 60" in response.content.decode()
    assert "responsible" not in Connection.objects.get(pk=connection.pk).settings


def test_a_nul_byte_in_the_settle_time_is_refused_before_the_form(manager_client, connection):
    response = manager_client.post(setup_url("users"), {"settle_seconds": "1\x00"})
    assert response.status_code == 400
    assert "responsible" not in Connection.objects.get(pk=connection.pk).settings
