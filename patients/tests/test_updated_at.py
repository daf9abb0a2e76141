"""``Patient.updated_at``: when the card last really changed (a two-way sync compares it)."""

import datetime
import importlib

import pytest
import time_machine
from django.apps import apps
from django.utils import timezone

from patients import services
from patients.models import Patient
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

LATER = datetime.timedelta(hours=3)


def test_a_new_card_has_it():
    patient = PatientFactory()
    assert patient.updated_at is not None


def test_an_edit_moves_it_and_a_save_that_changes_nothing_does_not(admin_persona):
    patient = PatientFactory(phone="+79990000001")
    first = Patient.objects.get(pk=patient.pk).updated_at
    with time_machine.travel(timezone.now() + LATER, tick=False):
        services.patient_update(
            patient=patient, by=admin_persona.user, data={"phone": "+79990000001"}
        )
        assert Patient.objects.get(pk=patient.pk).updated_at == first
        services.patient_update(
            patient=patient, by=admin_persona.user, data={"phone": "+79990000002"}
        )
        assert Patient.objects.get(pk=patient.pk).updated_at == timezone.now()


def test_a_visit_recorded_as_activity_is_no_change_of_the_card():
    patient = PatientFactory()
    first = Patient.objects.get(pk=patient.pk).updated_at
    with time_machine.travel(timezone.now() + LATER, tick=False):
        services.patient_record_activity(patient_id=patient.pk, at=timezone.now())
    fresh = Patient.objects.get(pk=patient.pk)
    assert fresh.last_activity_at is not None and fresh.updated_at == first


def test_the_migration_dates_existing_cards_by_their_creation():
    patient = PatientFactory()
    created = timezone.now() - datetime.timedelta(days=400)
    Patient.objects.filter(pk=patient.pk).update(created_at=created)
    migration = importlib.import_module("patients.migrations.0009_patient_updated_at")
    migration.from_created_at(apps, None)
    assert Patient.objects.get(pk=patient.pk).updated_at == created


@pytest.mark.usefixtures("media_root")
def test_an_import_moves_it_for_changed_cards_only(importer):
    from patients.tests.conftest import csv_bytes

    changed = PatientFactory(last_name="Старова", first_name="Анна", phone="+79160000001")
    same = PatientFactory(last_name="Прежний", first_name="Пётр", phone="+79160000002")
    Patient.objects.filter(pk__in=[changed.pk, same.pk]).update(updated_at=timezone.now() - LATER)
    before = {p.pk: p.updated_at for p in Patient.objects.filter(pk__in=[changed.pk, same.pk])}
    rows = [
        ["Фамилия", "Имя", "Телефон"],
        ["Новая", "Анна", "+79160000001"],
        ["Прежний", "Пётр", "+79160000002"],
    ]
    importer.confirm(importer.check("cards.csv", csv_bytes(rows)))
    assert Patient.objects.get(pk=changed.pk).updated_at > before[changed.pk]
    assert Patient.objects.get(pk=same.pk).updated_at == before[same.pk]
