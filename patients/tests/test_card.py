"""The patient card: the main section, the placeholder sections, in-place editing, the
audit of every opening, and a number of queries that does not grow with the data."""

import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEntry, OutboxEvent
from clinic.tests.factories import EmployeeFactory, GenderFactory, user_with_rights
from patients import services, views
from patients.models import Patient
from patients.tests.factories import (
    FamilyFactory,
    MarketingChannelFactory,
    PatientEventFactory,
    PatientFactory,
    PortalAccountFactory,
    broken_snils,
)

pytestmark = pytest.mark.django_db


def card_url(patient) -> str:
    return reverse("patients:card", args=[patient.pk])


@pytest.fixture
def patient(doctor, coordinator, branch):
    with time_machine.travel(datetime.datetime(2026, 1, 10, 12, tzinfo=datetime.UTC)):
        return PatientFactory(
            last_name="Кузнецова",
            first_name="Ольга",
            middle_name="Павловна",
            phone="+79123456789",
            birth_date=datetime.date(1990, 4, 12),
            attending_doctor=doctor.employee,
            coordinator=coordinator.employee,
            branch=branch,
            card_number=777,
            email="olga@example.ru",
            created_at=timezone.now(),
            last_activity_at=timezone.now(),
        )


@time_machine.travel(datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC))
def test_the_card_shows_number_age_status_doctor_and_coordinator(
    doctor_client, patient, doctor, coordinator
):
    response = doctor_client.get(card_url(patient), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Кузнецова Ольга Павловна" in content
    assert "№ 777" in content
    assert response.context["patient"].age == 35
    assert "35 years" in content
    assert 'data-patient-status="primary"' in content
    assert str(doctor.employee) in content
    assert str(coordinator.employee) in content
    assert "+7 912 345-67-89" in content
    # The balance, debt and deposit are billing's panel, loaded from its URL.
    assert f'hx-get="/billing/patient/{patient.pk}/balance/"' in content


def test_the_card_shows_a_returning_patient(doctor_client, patient):
    with time_machine.travel(datetime.datetime(2027, 6, 1, 12, tzinfo=datetime.UTC)):
        response = doctor_client.get(card_url(patient))
    assert response.context["status"] == "returning"
    assert 'data-patient-status="returning"' in response.content.decode()


def test_the_card_lists_family_members_with_links(doctor_client, patient):
    family = FamilyFactory(name="Семья Кузнецовых", card_number="С-12")
    patient.family = family
    patient.save(update_fields=["family"])
    son = PatientFactory(last_name="Кузнецов", first_name="Артём", family=family)
    PatientFactory(
        last_name="Кузнецов", first_name="Удалённый", family=family, deleted_at=timezone.now()
    )
    response = doctor_client.get(card_url(patient))
    content = response.content.decode()
    assert [m.pk for m in response.context["family_members"]] == [son.pk]
    assert f'href="{son.get_absolute_url()}" data-family-member="{son.pk}"' in content
    assert "Семья Кузнецовых" in content and "С-12" in content
    assert "Удалённый" not in content
    # And the son's card lists the mother.
    other = doctor_client.get(card_url(son))
    assert [m.pk for m in other.context["family_members"]] == [patient.pk]


def test_the_card_shows_the_timeline_newest_first(doctor_client, patient):
    PatientEventFactory(
        patient=patient,
        name="patient.updated",
        occurred_at=timezone.now() - datetime.timedelta(days=1),
        payload={"patient_id": patient.pk, "changed": ["email"]},
    )
    PatientEventFactory(
        patient=patient,
        name="family.joined",
        payload={"patient_id": patient.pk, "family": "Семья Кузнецовых"},
    )
    response = doctor_client.get(card_url(patient), HTTP_ACCEPT_LANGUAGE="en")
    content = response.content.decode()
    names = [entry.name for entry, _icon, _text in response.context["timeline"]]
    assert names == ["family.joined", "patient.updated"]
    assert "Joined the family Семья Кузнецовых" in content
    assert "Card changed: email" in content


def test_opening_the_card_is_recorded_in_the_audit_log(doctor_client, doctor, patient):
    doctor_client.get(card_url(patient), REMOTE_ADDR="10.1.2.3")
    entry = AuditEntry.objects.get(action="view")
    assert entry.patient_id == patient.pk
    assert entry.actor == doctor.user
    assert entry.object_id == str(patient.pk)
    assert entry.ip_address == "10.1.2.3"


def test_opening_any_section_of_the_card_is_recorded_too(doctor_client, doctor, patient):
    doctor_client.get(reverse("patients:section", args=[patient.pk, "payments"]))
    entry = AuditEntry.objects.get(action="view")
    assert (entry.patient_id, entry.actor) == (patient.pk, doctor.user)


def test_a_deleted_card_is_not_found(doctor_client, patient):
    Patient.objects.filter(pk=patient.pk).update(deleted_at=timezone.now())
    assert doctor_client.get(card_url(patient)).status_code == 404
    assert not AuditEntry.objects.filter(action="view").exists()


def test_an_unknown_card_is_not_found(doctor_client):
    assert doctor_client.get(reverse("patients:card", args=[999_999])).status_code == 404


def test_the_card_needs_the_patients_right(outsider_client, patient):
    assert outsider_client.get(card_url(patient)).status_code == 403
    assert not AuditEntry.objects.filter(action="view").exists()


def test_the_card_sends_an_anonymous_visitor_to_log_in(client, patient):
    response = client.get(card_url(patient))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_the_card_hides_actions_the_user_has_no_right_to(doctor_client, admin_persona, patient):
    doctor_view = doctor_client.get(card_url(patient)).content.decode()
    assert "data-delete-patient" not in doctor_view
    assert "data-edit-profile" in doctor_view
    admin = Client()
    admin.force_login(admin_persona.user)
    admin_view = admin.get(card_url(patient)).content.decode()
    assert "data-delete-patient" in admin_view


@pytest.mark.parametrize("section", list(views.SECTION_MODULES))
def test_each_future_section_of_the_card_is_an_honest_placeholder(doctor_client, patient, section):
    response = doctor_client.get(
        reverse("patients:section", args=[patient.pk, section]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert f'data-section="{section}"' in content
    assert response.context["section"] == section
    assert f'data-section-placeholder="{section}"' in content
    assert f"This section is filled by {views.SECTION_MODULES[section]}" in content


def test_every_section_of_the_card_opens(doctor_client, patient):
    for key, _label, _icon in views.SECTIONS:
        url = (
            card_url(patient)
            if key == "main"
            else reverse("patients:section", args=[patient.pk, key])
        )
        assert doctor_client.get(url).status_code == 200, key


def test_the_history_section_shows_the_patient_events(doctor_client, patient):
    PatientEventFactory(
        patient=patient,
        name="family.joined",
        payload={"patient_id": patient.pk, "family": "Семья Кузнецовых"},
    )
    response = doctor_client.get(
        reverse("patients:section", args=[patient.pk, "events"]), HTTP_ACCEPT_LANGUAGE="en"
    )
    content = response.content.decode()
    assert "data-section-placeholder" not in content
    assert 'data-timeline-entry="family.joined"' in content
    assert "Joined the family Семья Кузнецовых" in content


@pytest.mark.parametrize("section", ["unknown", "main"])
def test_an_unknown_section_is_not_found(doctor_client, patient, section):
    response = doctor_client.get(reverse("patients:section", args=[patient.pk, section]))
    assert response.status_code == 404


def test_a_section_of_a_deleted_card_is_not_found(doctor_client, patient):
    Patient.objects.filter(pk=patient.pk).update(deleted_at=timezone.now())
    url = reverse("patients:section", args=[patient.pk, "diagnostics"])
    assert doctor_client.get(url).status_code == 404


def test_sections_need_the_patients_right(outsider_client, patient):
    url = reverse("patients:section", args=[patient.pk, "diagnostics"])
    assert outsider_client.get(url).status_code == 403


# --- In-place editing ---------------------------------------------------------------------


def profile_data(patient, **fields) -> dict:
    values = {
        "last_name": patient.last_name,
        "first_name": patient.first_name,
        "middle_name": patient.middle_name,
        "email": patient.email,
        "attending_doctor": patient.attending_doctor_id or "",
        "coordinator": patient.coordinator_id or "",
        "branch": patient.branch_id or "",
        "marketing_channel": patient.marketing_channel_id or "",
        "patient_group": patient.patient_group_id or "",
        "messaging_consent": "on" if patient.messaging_consent else None,
        "is_active": "on" if patient.is_active else None,
        "comment": patient.comment,
    }
    values.update(fields)
    return {f"profile-{name}": value for name, value in values.items() if value is not None}


def info_data(patient, **fields) -> dict:
    values = {
        "phone": patient.phone,
        "home_phone": patient.home_phone,
        "birth_date": patient.birth_date.isoformat() if patient.birth_date else "",
        "gender": patient.gender_id or "",
        "document_type": patient.document_type,
        "snils": patient.snils,
        "inn": patient.inn,
        "oms_policy": patient.oms_policy,
        "registration_address": patient.registration_address,
        "actual_address": patient.actual_address,
    }
    values.update(fields)
    return {f"info-{name}": value for name, value in values.items() if value is not None}


@pytest.mark.parametrize("block", ["profile", "info"])
def test_edit_returns_the_form_partial(doctor_client, patient, block):
    response = doctor_client.get(
        reverse(f"patients:{block}-edit", args=[patient.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith("<form")
    assert f"data-{block}-form" in content
    assert "<html" not in content
    assert 'value="Кузнецова"' in content if block == "profile" else "+79123456789" in content


def test_editing_the_profile_saves_and_publishes_the_changed_fields(
    doctor_client, doctor, patient, django_capture_on_commit_callbacks
):
    new_doctor = EmployeeFactory(last_name="Новиков")
    channel = MarketingChannelFactory(name="Реклама")
    data = profile_data(
        patient,
        last_name="Кузнецова-Петрова",
        attending_doctor=new_doctor.pk,
        marketing_channel=channel.pk,
        messaging_consent=None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = doctor_client.post(
            reverse("patients:profile-edit", args=[patient.pk]), data, HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 204
    assert response["HX-Redirect"] == card_url(patient)
    patient.refresh_from_db()
    assert patient.last_name == "Кузнецова-Петрова"
    assert patient.attending_doctor == new_doctor
    assert patient.marketing_channel == channel
    assert patient.messaging_consent is False
    event = OutboxEvent.objects.get(name="patient.updated")
    assert event.payload["patient_id"] == patient.pk
    assert event.payload["changed"] == [
        "attending_doctor",
        "last_name",
        "marketing_channel",
        "messaging_consent",
    ]
    assert event.payload["values"] == {
        "attending_doctor": new_doctor.pk,
        "last_name": "Кузнецова-Петрова",
        "marketing_channel": channel.pk,
        "messaging_consent": False,
    }
    assert event.actor == doctor.user
    audit = AuditEntry.objects.get(action="update", patient_id=patient.pk)
    assert audit.changes["last_name"] == ["Кузнецова", "Кузнецова-Петрова"]
    assert patient.timeline.filter(name="patient.updated").count() == 1


def test_editing_the_information_block_normalises_and_saves(doctor_client, patient):
    gender = GenderFactory(name="Женский")
    data = info_data(
        patient,
        phone="8 (916) 111-22-33",
        home_phone="8 495 123 45 67",
        gender=gender.pk,
        passport_series="4508",
        passport_number="123456",
        oms_policy="1234567890123456",
    )
    response = doctor_client.post(reverse("patients:info-edit", args=[patient.pk]), data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.phone == "+79161112233"
    assert patient.home_phone == "+74951234567"
    assert patient.gender == gender
    assert (patient.passport_series, patient.passport_number) == ("4508", "123456")


def test_saving_an_unchanged_form_publishes_nothing(doctor_client, patient):
    response = doctor_client.post(
        reverse("patients:profile-edit", args=[patient.pk]), profile_data(patient)
    )
    assert response.status_code == 302
    assert not OutboxEvent.objects.filter(name="patient.updated").exists()
    assert not AuditEntry.objects.filter(action="update").exists()


@pytest.mark.parametrize(
    ("block", "fields", "field"),
    [
        ("profile", {"last_name": ""}, "last_name"),
        ("profile", {"email": "nope"}, "email"),
        ("info", {"phone": "123"}, "phone"),
        ("info", {"snils": broken_snils()}, "snils"),
        ("info", {"birth_date": "2999-01-01"}, "birth_date"),
        ("info", {"document_type": "other", "other_document": ""}, "other_document"),
    ],
)
def test_an_invalid_edit_returns_the_form_with_errors_and_changes_nothing(
    doctor_client, patient, block, fields, field
):
    build = profile_data if block == "profile" else info_data
    response = doctor_client.post(
        reverse(f"patients:{block}-edit", args=[patient.pk]),
        build(patient, **fields),
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    content = response.content.decode()
    assert content.lstrip().startswith("<form")
    assert re.search(rf'name="{block}-{field}"[^>]*aria-invalid="true"', content)
    assert "invalid-feedback" in content
    fresh = Patient.objects.get(pk=patient.pk)
    assert (fresh.last_name, fresh.email, fresh.phone, fresh.snils) == (
        patient.last_name,
        patient.email,
        patient.phone,
        patient.snils,
    )
    assert not OutboxEvent.objects.filter(name="patient.updated").exists()


def test_editing_needs_the_change_right(client, branch, patient):
    client.force_login(user_with_rights("patients_view", username="viewer", branch=branch))
    url = reverse("patients:profile-edit", args=[patient.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, profile_data(patient, last_name="Взлом")).status_code == 403
    patient.refresh_from_db()
    assert patient.last_name == "Кузнецова"


def test_editing_a_deleted_card_is_not_found(doctor_client, patient):
    Patient.objects.filter(pk=patient.pk).update(deleted_at=timezone.now())
    url = reverse("patients:profile-edit", args=[patient.pk])
    assert doctor_client.get(url).status_code == 404
    assert doctor_client.post(url, profile_data(patient)).status_code == 404


def test_the_update_service_reports_old_and_new_values(registrar, patient):
    _patient, changes = services.patient_update(
        patient=patient, by=registrar.user, data={"email": "new@example.ru"}
    )
    assert changes == {"email": ["olga@example.ru", "new@example.ru"]}


# --- A fixed number of queries ------------------------------------------------------------


def test_the_card_runs_the_same_queries_however_long_its_timeline_and_family(
    doctor_client, patient, django_assert_num_queries
):
    family = FamilyFactory()
    patient.family = family
    patient.save(update_fields=["family"])
    PortalAccountFactory(patient=patient)
    PatientFactory(family=family)
    PatientEventFactory(patient=patient)
    doctor_client.get(card_url(patient))  # warm the session, permissions and preferences
    with CaptureQueriesContext(connection) as small:
        doctor_client.get(card_url(patient))
    PatientFactory.create_batch(6, family=family)
    PatientEventFactory.create_batch(30, patient=patient)
    with django_assert_num_queries(len(small)):
        response = doctor_client.get(card_url(patient))
    assert len(response.context["family_members"]) == 7
    assert len(response.context["timeline"]) == 31


def test_the_card_reloads_its_events_from_their_own_url(doctor_client, patient):
    """The card's events refresh in place when told (its live topic, or a booking)."""
    card = doctor_client.get(card_url(patient)).content.decode()
    url = reverse("patients:timeline", args=[patient.pk])
    assert f'hx-get="{url}"' in card
    assert f'data-live-topic="patient.{patient.pk}"' in card
    PatientEventFactory(patient=patient, name="family.joined", payload={"family": "Ивановы"})
    response = doctor_client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert 'data-timeline-entry="family.joined"' in response.content.decode()
    assert "<html" not in response.content.decode()


def test_the_cards_events_need_the_patients_right(outsider_client, patient):
    assert outsider_client.get(reverse("patients:timeline", args=[patient.pk])).status_code == 403


def _shown_values(content: str, block: str) -> dict:
    """The values each field of a card block's form was shown with (its hidden inputs)."""
    found = re.findall(rf'name="(initial-{block}-[a-z_]+)"(?: value="([^"]*)")?', content)
    return dict(found)


def test_saving_a_card_opened_before_another_change_keeps_that_change(
    doctor_client, doctor, patient
):
    url = reverse("patients:profile-edit", args=[patient.pk])
    shown = _shown_values(
        doctor_client.get(url, HTTP_HX_REQUEST="true").content.decode(), "profile"
    )
    assert "initial-profile-coordinator" in shown and "initial-profile-last_name" in shown
    # Meanwhile amoCRM (or a colleague) gives the patient another responsible.
    colleague = EmployeeFactory(last_name="Смирнова")
    services.patient_update(patient=patient, by=None, data={"coordinator": colleague})
    data = {**profile_data(patient, last_name="Кузнецова-Петрова"), **shown}
    data["profile-coordinator"] = shown["initial-profile-coordinator"]  # as the page showed it
    response = doctor_client.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    patient.refresh_from_db()
    assert patient.last_name == "Кузнецова-Петрова"
    assert patient.coordinator == colleague
    # A change the user makes is written, whatever the card held when the page opened.
    other = EmployeeFactory(last_name="Орлова")
    data = {**profile_data(patient, coordinator=other.pk), **shown}
    assert doctor_client.post(url, data, HTTP_HX_REQUEST="true").status_code == 204
    patient.refresh_from_db()
    assert patient.coordinator == other
