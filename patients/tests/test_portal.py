"""The patient's account in the future patient app: activate with a login, deactivate."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEntry, OutboxEvent
from clinic.tests.factories import user_with_rights
from patients import services
from patients.models import Patient, PortalAccount
from patients.tests.factories import PatientFactory, PortalAccountFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 1, 9, 30, tzinfo=datetime.UTC)


def activate_url(patient) -> str:
    return reverse("patients:portal-activate", args=[patient.pk])


def deactivate_url(patient) -> str:
    return reverse("patients:portal-deactivate", args=[patient.pk])


@pytest.fixture
def patient():
    return PatientFactory(phone="+79123456789", email="olga@example.ru")


def test_the_activation_dialog_offers_the_phone_as_the_login(doctor_client, patient):
    response = doctor_client.get(activate_url(patient))
    assert response.status_code == 200
    assert 'value="+79123456789"' in response.content.decode()


def test_the_email_is_offered_when_there_is_no_phone(doctor_client):
    patient = PatientFactory(phone="", email="olga@example.ru")
    response = doctor_client.get(activate_url(patient))
    assert 'value="olga@example.ru"' in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_activating_creates_the_account_and_publishes_the_login_and_date(
    doctor_client, doctor, patient, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = doctor_client.post(
            activate_url(patient), {"login": " +79123456789 "}, HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 204
    assert response["HX-Redirect"] == patient.get_absolute_url()
    account = PortalAccount.objects.get(patient=patient)
    assert (account.login, account.is_active, account.activated_at) == ("+79123456789", True, NOW)
    event = OutboxEvent.objects.get(name="patient.portal_activated")
    assert event.payload == {
        "patient_id": patient.pk,
        "login": "+79123456789",
        "activated_at": NOW.isoformat(),
    }
    assert event.actor == doctor.user
    assert AuditEntry.objects.filter(action="update", patient_id=patient.pk).exists()
    assert patient.timeline.filter(name="patient.portal_activated").count() == 1
    card = doctor_client.get(patient.get_absolute_url()).content.decode()
    assert "01.03.2026" in card and "+79123456789" in card
    assert "data-portal-deactivate" in card


def test_a_login_of_another_patient_is_refused(doctor_client, patient):
    PortalAccountFactory(login="olga@example.ru")
    response = doctor_client.post(
        activate_url(patient),
        {"login": "OLGA@example.ru"},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    assert "This login belongs to another patient." in response.content.decode()
    assert not PortalAccount.objects.filter(patient=patient).exists()
    assert not OutboxEvent.objects.filter(name="patient.portal_activated").exists()


def test_an_empty_login_is_refused(doctor_client, patient):
    response = doctor_client.post(activate_url(patient), {"login": ""})
    assert response.status_code == 422
    assert not PortalAccount.objects.exists()


def test_deactivating_keeps_the_account_and_publishes_the_login_and_date(
    doctor_client, patient, django_capture_on_commit_callbacks
):
    PortalAccountFactory(patient=patient, login="+79123456789")
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = doctor_client.post(deactivate_url(patient), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    account = PortalAccount.objects.get(patient=patient)
    assert account.is_active is False
    assert account.deactivated_at == NOW
    event = OutboxEvent.objects.get(name="patient.portal_deactivated")
    assert event.payload["patient_id"] == patient.pk
    assert event.payload["login"] == "+79123456789"
    assert event.payload["deactivated_at"] == NOW.isoformat()
    assert patient.timeline.filter(name="patient.portal_deactivated").count() == 1
    card = doctor_client.get(patient.get_absolute_url()).content.decode()
    assert "01.03.2026" in card and "data-portal-activate" in card


def test_deactivating_an_inactive_account_does_nothing(registrar, patient):
    services.portal_deactivate(patient=patient, by=registrar.user)
    assert not OutboxEvent.objects.filter(name="patient.portal_deactivated").exists()


def test_reactivation_moves_the_activation_date_and_may_change_the_login(registrar, patient):
    with time_machine.travel(NOW):
        services.portal_activate(patient=patient, by=registrar.user, login="+79123456789")
        services.portal_deactivate(patient=patient, by=registrar.user)
    later = NOW + datetime.timedelta(days=30)
    with time_machine.travel(later, tick=False):
        services.portal_activate(patient=patient, by=registrar.user, login="olga@example.ru")
    account = PortalAccount.objects.get(patient=patient)
    assert (account.login, account.is_active) == ("olga@example.ru", True)
    assert account.activated_at == later
    assert account.deactivated_at is None


def test_the_service_refuses_a_login_of_another_patient(registrar, patient):
    PortalAccountFactory(login="taken")
    with pytest.raises(ValidationError) as caught:
        services.portal_activate(patient=patient, by=registrar.user, login="Taken")
    assert "login" in caught.value.message_dict


def test_deactivate_is_post_only(doctor_client, patient):
    assert doctor_client.get(deactivate_url(patient)).status_code == 405


@pytest.mark.parametrize("which", ["activate", "deactivate"])
def test_the_account_needs_the_change_right(client, branch, patient, which):
    client.force_login(user_with_rights("patients_view", username="viewer", branch=branch))
    target = activate_url(patient) if which == "activate" else deactivate_url(patient)
    assert client.post(target, {"login": "x"}).status_code == 403
    assert not PortalAccount.objects.exists()


def test_the_account_dialog_sends_an_anonymous_visitor_to_log_in(client, patient):
    response = client.get(activate_url(patient))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_the_account_of_a_deleted_card_is_not_found(doctor_client, patient):
    Patient.objects.filter(pk=patient.pk).update(deleted_at=timezone.now())
    assert doctor_client.post(activate_url(patient), {"login": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("login", "error"),
    [
        ("   ", "This field is required."),
        ("olga smirnova", "A login has no spaces or invisible characters."),
        ("olga\u200b@example.ru", "A login has no spaces or invisible characters."),
        ("x" * 151, "Ensure this value has at most 150 characters (it has 151)."),
    ],
)
def test_a_login_is_one_printable_word_of_at_most_150_characters(
    doctor_client, patient, login, error
):
    response = doctor_client.post(
        activate_url(patient), {"login": login}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 422
    assert error in response.content.decode().replace("&#x27;", "'")
    assert not PortalAccount.objects.filter(patient=patient).exists()


def test_a_login_is_trimmed(doctor_client, patient):
    doctor_client.post(activate_url(patient), {"login": "  olga@example.ru  "})
    assert PortalAccount.objects.get(patient=patient).login == "olga@example.ru"
