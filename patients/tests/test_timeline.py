"""The patient's timeline ("События пациента"): domain events of any app that carry a
``patient_id`` land on it once, and read as sentences."""

import pytest
from django.utils import translation

from clinic import events
from clinic.models import OutboxEvent
from patients import handlers, services, timeline
from patients.models import PatientEvent
from patients.tests.factories import PatientEventFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient():
    return PatientFactory()


@pytest.mark.parametrize(
    "name",
    ["appointment.created", "plan.approved", "invoice.issued", "message.sent", "call.missed"],
)
def test_an_event_of_any_app_with_a_patient_id_lands_on_the_timeline(
    patient, registrar, name, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = events.publish(name, None, {"patient_id": patient.pk, "x": 1}, actor=registrar.user)
    entry = PatientEvent.objects.get(patient=patient)
    assert entry.name == name
    assert entry.source_event_id == event.pk
    assert entry.occurred_at == event.created_at
    assert entry.payload == {"patient_id": patient.pk, "x": 1}
    assert entry.actor_name == str(registrar.user)


def test_an_event_of_the_patient_itself_needs_no_patient_id(
    patient, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        events.publish("patient.merged", patient, {"other": 5})
    assert list(patient.timeline.values_list("name", flat=True)) == ["patient.merged"]


def test_events_without_a_patient_or_of_an_unknown_one_are_left_out(
    patient, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        events.publish("appointment.created", None, {"chair_id": 3})
        events.publish("appointment.created", None, {"patient_id": 999_999})
        events.publish("appointment.created", None, {"patient_id": "not a number"})
        unrelated = events.publish("stock.written_off", None, {"patient_id": patient.pk})
    assert not PatientEvent.objects.exists()
    unrelated.refresh_from_db()
    assert unrelated.dispatched_at is not None


def test_an_event_dispatched_twice_is_on_the_timeline_once(
    patient, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = events.publish("appointment.created", None, {"patient_id": patient.pk})
    assert events.dispatch(event.pk) is False  # already delivered
    # A retry that lost its bookkeeping delivers it again: still one line.
    OutboxEvent.objects.filter(pk=event.pk).update(dispatched_at=None, delivered_to=[])
    assert events.dispatch(event.pk) is True
    assert PatientEvent.objects.filter(patient=patient).count() == 1


def test_the_handler_seeing_an_event_twice_writes_it_once(patient):
    event = OutboxEvent.objects.create(name="invoice.paid", payload={"patient_id": patient.pk})
    handlers.timeline_record(event)
    handlers.timeline_record(event)
    assert PatientEvent.objects.filter(patient=patient, source_event_id=event.pk).count() == 1


def test_the_card_shows_what_the_services_published(
    registrar, doctor_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        patient = services.patient_create(
            by=registrar.user, data={"last_name": "Новая", "first_name": "Анна"}
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.patient_update(
            patient=patient, by=registrar.user, data={"email": "anna@example.ru"}
        )
    response = doctor_client.get(patient.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")
    texts = [text for _entry, _icon, text in response.context["timeline"]]
    assert texts == ["Card changed: email", "Card created"]


# --- Wording ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "payload", "icon", "text"),
    [
        ("patient.created", {}, "person-plus", "Card created"),
        (
            "patient.updated",
            {"changed": ["phone", "last_name"]},
            "pencil",
            "Card changed: phone, last name",
        ),
        ("patient.deleted", {}, "trash", "Card moved to the recycle bin"),
        ("patient.restored", {}, "arrow-counterclockwise", "Card restored from the recycle bin"),
        (
            "patient.imported",
            {"file": "old.xlsx"},
            "file-earmark-arrow-up",
            "Card imported from old.xlsx",
        ),
        (
            "patient.portal_activated",
            {"login": "+7912"},
            "phone",
            "Portal account activated: +7912",
        ),
        ("patient.portal_deactivated", {}, "phone", "Portal account deactivated"),
        ("family.joined", {"family": "Семья О."}, "people", "Joined the family Семья О."),
        ("family.left", {"family": "Семья О."}, "people", "Left the family Семья О."),
    ],
)
def test_timeline_entries_read_as_sentences(patient, name, payload, icon, text):
    entry = PatientEventFactory.build(patient=patient, name=name, payload=payload)
    with translation.override("en"):
        assert timeline.render(entry) == (icon, text)


def test_an_event_without_a_wording_shows_its_name(patient):
    entry = PatientEventFactory.build(patient=patient, name="lab.order_sent", payload={})
    assert timeline.render(entry) == ("dot", "lab.order_sent")


def test_a_wording_that_misses_its_data_falls_back_to_the_name(patient):
    entry = PatientEventFactory.build(patient=patient, name="family.joined", payload={})
    assert timeline.render(entry) == ("people", "family.joined")


def test_apps_add_their_own_wording(patient):
    timeline.describe("xray.taken", "camera", lambda p: f"X-ray of tooth {p['tooth']}")
    try:
        entry = PatientEventFactory.build(patient=patient, name="xray.taken", payload={"tooth": 36})
        assert timeline.render(entry) == ("camera", "X-ray of tooth 36")
    finally:
        timeline._descriptions.pop("xray.taken")


def test_a_field_that_no_longer_exists_still_reads():
    assert timeline.field_label("removed_field") == "removed_field"


def test_a_new_entry_tells_the_open_cards_after_commit(patient, django_capture_on_commit_callbacks):
    from unittest import mock

    event = events.publish("patient.updated", patient, {"patient_id": patient.pk})
    with (
        mock.patch("clinic.live.broadcast") as broadcast,
        django_capture_on_commit_callbacks(execute=True),
    ):
        handlers.timeline_record(event)
    broadcast.assert_called_once_with(f"patient.{patient.pk}", {"timeline": True})


def test_only_users_who_see_patients_may_listen_to_a_card(patient):
    from clinic import live
    from clinic.tests.factories import UserFactory, user_with_rights

    reader = user_with_rights("patients_view")
    assert live.may_listen(reader, f"patient.{patient.pk}")
    assert not live.may_listen(reader, "patient.abc")
    assert not live.may_listen(UserFactory(), f"patient.{patient.pk}")
