"""Primary or returning: computed from activity and the clinic's "months without activity"
setting, moved by visits (appointment status events), never typed in."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from calendar_app.models import StatusCode
from clinic import events, preferences
from clinic.models import OutboxEvent
from patients import handlers, services
from patients.models import Patient, PatientStatus
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

KEY = "patients.returning_after_months"
NOW = datetime.datetime(2026, 6, 1, 10, tzinfo=datetime.UTC)


def months_ago(months: float) -> datetime.datetime:
    return NOW - datetime.timedelta(days=round(months * 30.44))


@pytest.fixture
def set_months(admin_persona, django_capture_on_commit_callbacks):
    def apply(months: int) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            preferences.preferences_set(values={KEY: months}, by=admin_persona.user)

    return apply


def test_the_setting_defaults_to_twelve_months():
    assert preferences.get(KEY) == 12
    assert services.returning_after_months() == 12


def test_a_new_card_is_primary(registrar):
    with time_machine.travel(NOW, tick=False):
        patient = services.patient_create(
            by=registrar.user, data={"last_name": "Новая", "first_name": "Анна"}
        )
        assert patient.status_at(NOW, services.returning_after_months()) == PatientStatus.PRIMARY


@pytest.mark.parametrize(
    ("months_without_activity", "setting", "expected"),
    [
        (11, 12, PatientStatus.PRIMARY),
        (13, 12, PatientStatus.RETURNING),
        (5, 6, PatientStatus.PRIMARY),
        (7, 6, PatientStatus.RETURNING),
    ],
)
def test_a_patient_turns_returning_after_the_set_months_without_activity(
    months_without_activity, setting, expected
):
    patient = PatientFactory(last_activity_at=months_ago(months_without_activity))
    assert patient.status_at(NOW, setting) == expected


def test_the_card_follows_the_setting_changed_on_the_settings_page(
    admin_client, django_capture_on_commit_callbacks
):
    patient = PatientFactory(last_activity_at=months_ago(7))
    with time_machine.travel(NOW):
        card = admin_client.get(patient.get_absolute_url())
        assert card.context["status"] == PatientStatus.PRIMARY
        page = admin_client.get(reverse("clinic:module-settings"))
        form = page.context["form"]
        data = {name: form.initial.get(name, field.initial) for name, field in form.fields.items()}
        data = {name: value for name, value in data.items() if value not in (None, False)}
        data[KEY] = 6
        with django_capture_on_commit_callbacks(execute=True):
            saved = admin_client.post(reverse("clinic:module-settings-save"), data)
        assert saved.status_code == 302, saved.context and saved.context["form"].errors
        card = admin_client.get(patient.get_absolute_url())
    assert card.context["status"] == PatientStatus.RETURNING
    assert 'data-patient-status="returning"' in card.content.decode()


def test_a_visit_after_a_long_pause_makes_the_patient_returning_from_then_on(set_months):
    set_months(6)
    patient = PatientFactory(last_activity_at=months_ago(8))
    services.patient_record_activity(patient_id=patient.pk, at=NOW)
    patient.refresh_from_db()
    assert patient.returning_since == NOW
    assert patient.last_activity_at == NOW
    # Returning stays, even right after the visit and later on.
    assert patient.status_at(NOW, 6) == PatientStatus.RETURNING
    assert patient.status_at(NOW + datetime.timedelta(days=1), 6) == PatientStatus.RETURNING


def test_a_visit_within_the_set_months_keeps_the_patient_primary(set_months):
    set_months(6)
    patient = PatientFactory(last_activity_at=months_ago(5))
    services.patient_record_activity(patient_id=patient.pk, at=NOW)
    patient.refresh_from_db()
    assert patient.returning_since is None
    assert patient.last_activity_at == NOW
    assert patient.status_at(NOW, 6) == PatientStatus.PRIMARY


def test_a_late_reported_older_activity_does_not_move_the_last_activity_back():
    patient = PatientFactory(last_activity_at=NOW)
    services.patient_record_activity(patient_id=patient.pk, at=NOW - datetime.timedelta(days=3))
    patient.refresh_from_db()
    assert patient.last_activity_at == NOW
    assert patient.returning_since is None


def test_the_first_activity_of_a_card_without_any_is_recorded():
    patient = PatientFactory(last_activity_at=None)
    services.patient_record_activity(patient_id=patient.pk, at=NOW)
    patient.refresh_from_db()
    assert patient.last_activity_at == NOW
    assert patient.status_at(NOW, 12) == PatientStatus.PRIMARY


def test_activity_of_an_unknown_patient_is_ignored():
    services.patient_record_activity(patient_id=999_999, at=NOW)


# --- The handler of appointment events ------------------------------------------------


def publish_status(patient, status: str, start: datetime.datetime, callbacks) -> OutboxEvent:
    with callbacks(execute=True):
        return events.publish(
            "appointment.status_changed",
            None,
            {"patient_id": patient.pk, "status": status, "start": start, "appointment_id": 1},
        )


@pytest.mark.parametrize("status", sorted(handlers.ATTENDED_STATUSES))
def test_an_attended_visit_is_activity(status, django_capture_on_commit_callbacks):
    assert {"arrived", "in_chair", "completed"} == handlers.ATTENDED_STATUSES
    patient = PatientFactory(last_activity_at=months_ago(14))
    publish_status(patient, status, NOW, django_capture_on_commit_callbacks)
    patient.refresh_from_db()
    assert patient.last_activity_at == NOW
    assert patient.returning_since == NOW


def test_the_attended_statuses_are_codes_the_calendar_uses():
    assert set(StatusCode.values) >= handlers.ATTENDED_STATUSES


@pytest.mark.parametrize("status", ["planned", "confirmed", "cancelled", "no_show", ""])
def test_other_appointment_statuses_are_not_activity(status, django_capture_on_commit_callbacks):
    before = months_ago(14)
    patient = PatientFactory(last_activity_at=before)
    event = publish_status(patient, status, NOW, django_capture_on_commit_callbacks)
    patient.refresh_from_db()
    assert patient.last_activity_at == before
    assert patient.returning_since is None
    event.refresh_from_db()
    assert event.dispatched_at is not None  # delivered, and deliberately ignored


def test_a_visit_event_without_a_start_counts_at_the_event_time(
    django_capture_on_commit_callbacks,
):
    patient = PatientFactory(last_activity_at=months_ago(1))
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        events.publish(
            "appointment.status_changed", None, {"patient_id": patient.pk, "status": "arrived"}
        )
    patient.refresh_from_db()
    assert patient.last_activity_at == NOW


def test_an_event_without_a_patient_is_ignored(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = events.publish("appointment.status_changed", None, {"status": "arrived"})
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert event.last_error == ""


def test_a_visit_of_a_deleted_card_still_moves_its_activity(django_capture_on_commit_callbacks):
    patient = PatientFactory(last_activity_at=months_ago(1), deleted_at=NOW)
    publish_status(patient, "completed", NOW, django_capture_on_commit_callbacks)
    assert Patient.all_objects.get(pk=patient.pk).last_activity_at == NOW
