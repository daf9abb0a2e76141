"""Deleting a card sends it to the recycle bin; restoring brings all of it back."""

import pytest
from django.test import Client
from django.urls import reverse

from clinic import services as clinic_services
from clinic.models import AuditEntry, OutboxEvent
from patients import services
from patients.models import Patient
from patients.selectors import patient_search
from patients.tests.factories import FamilyFactory, PatientEventFactory, PatientFactory

pytestmark = pytest.mark.django_db


def delete_url(patient) -> str:
    return reverse("patients:delete", args=[patient.pk])


def restore_url(patient) -> str:
    return reverse("clinic:trash-restore", args=["patients", patient.pk])


@pytest.fixture
def family_patient():
    family = FamilyFactory(name="Семья Орловых")
    patient = PatientFactory(last_name="Орлов", family=family)
    sister = PatientFactory(last_name="Орлова", family=family)
    PatientEventFactory.create_batch(3, patient=patient)
    return patient, sister, family


def test_deleting_moves_the_card_to_the_recycle_bin_with_an_undo(
    admin_client, admin_persona, family_patient, django_capture_on_commit_callbacks
):
    patient, _sister, _family = family_patient
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(delete_url(patient))
    assert response.status_code == 302
    assert response.url == reverse("patients:list")
    assert not Patient.objects.filter(pk=patient.pk).exists()
    deleted = Patient.all_objects.get(pk=patient.pk)
    assert deleted.deleted_at is not None
    assert deleted.deleted_by == admin_persona.user
    # The next page's toast offers Undo, a form posting to the restore URL.
    page = admin_client.get(response.url).content.decode()
    assert f'action="{restore_url(patient)}"' in page
    assert "data-undo" in page
    event = OutboxEvent.objects.get(name="patient.deleted")
    assert event.payload == {"id": patient.pk, "patient_id": patient.pk}
    assert AuditEntry.objects.filter(action="delete", patient_id=patient.pk).exists()
    assert patient.timeline.filter(name="patient.deleted").count() == 1


def test_an_htmx_delete_redirects_to_the_list(admin_client, family_patient):
    patient, _sister, _family = family_patient
    response = admin_client.post(delete_url(patient), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("patients:list")


def test_the_recycle_bin_lists_the_deleted_card(admin_client, admin_persona, family_patient):
    patient, _sister, _family = family_patient
    services.patient_delete(patient=patient, by=admin_persona.user)
    response = admin_client.get(reverse("clinic:trash"), {"section": "patients"})
    assert response.status_code == 200
    content = response.content.decode()
    assert f'data-trash-item="{patient.pk}"' in content
    assert patient.full_name in content
    assert restore_url(patient) in content


def test_restoring_brings_back_the_card_its_family_and_timeline(
    admin_client, admin_persona, family_patient, django_capture_on_commit_callbacks
):
    patient, sister, family = family_patient
    with django_capture_on_commit_callbacks(execute=True):
        services.patient_delete(patient=patient, by=admin_persona.user)
        # Meanwhile the sister leaves: the family must still be there for the restore.
        services.family_leave(patient=Patient.objects.get(pk=sister.pk), by=admin_persona.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(restore_url(patient))
    assert response.status_code == 302
    restored = Patient.objects.get(pk=patient.pk)
    assert restored.deleted_at is None and restored.deleted_by is None
    assert restored.family == family
    assert restored.card_number == patient.card_number
    names = list(restored.timeline.values_list("name", flat=True))
    assert names.count("patient.updated") == 3  # the entries from before
    assert "patient.deleted" in names and "patient.restored" in names
    event = OutboxEvent.objects.get(name="patient.restored")
    assert event.payload == {"id": patient.pk, "patient_id": patient.pk}
    assert AuditEntry.objects.filter(action="restore", patient_id=patient.pk).exists()
    assert admin_client.get(patient.get_absolute_url()).status_code == 200


def test_a_restored_card_is_found_again(admin_persona, family_patient):
    patient, _sister, _family = family_patient
    services.patient_delete(patient=patient, by=admin_persona.user)
    assert patient not in patient_search(patient.last_name)
    clinic_services.object_restore(obj=patient, by=admin_persona.user)
    assert patient in patient_search(patient.last_name)


def test_deleting_twice_changes_nothing_the_second_time(admin_persona, family_patient):
    patient, _sister, _family = family_patient
    services.patient_delete(patient=patient, by=admin_persona.user)
    services.patient_delete(patient=patient, by=admin_persona.user)
    assert OutboxEvent.objects.filter(name="patient.deleted").count() == 1


def test_delete_needs_the_delete_right(registrar_client, family_patient):
    patient, _sister, _family = family_patient
    assert registrar_client.post(delete_url(patient)).status_code == 403
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_a_get_asks_in_a_dialog_and_deletes_nothing(admin_client, family_patient):
    patient, _sister, _family = family_patient
    response = admin_client.get(delete_url(patient), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "data-delete-dialog" in response.content.decode()
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_delete_sends_an_anonymous_visitor_to_log_in(client, family_patient):
    patient, _sister, _family = family_patient
    response = client.post(delete_url(patient))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_a_deleted_card_cannot_be_deleted_again_through_the_view(admin_client, family_patient):
    patient, _sister, _family = family_patient
    admin_client.post(delete_url(patient))
    assert admin_client.post(delete_url(patient)).status_code == 404


def test_the_registrar_cannot_restore_from_the_recycle_bin(
    admin_persona, registrar, family_patient
):
    patient, _sister, _family = family_patient
    services.patient_delete(patient=patient, by=admin_persona.user)
    registrar_client = Client()
    registrar_client.force_login(registrar.user)
    assert registrar_client.post(restore_url(patient)).status_code == 403
    assert not Patient.objects.filter(pk=patient.pk).exists()
