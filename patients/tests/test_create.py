"""Adding a patient: the three blocks of the panel, validation, card numbers, duplicates."""

import datetime
import html
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEntry, OutboxEvent
from clinic.tests.factories import GenderFactory, user_with_rights
from patients import services
from patients.forms import PatientForm
from patients.models import DocumentType, Patient, PatientEvent
from patients.tests.factories import (
    MarketingChannelFactory,
    PatientFactory,
    PatientGroupFactory,
    broken_snils,
    valid_person_inn,
    valid_snils,
)

pytestmark = pytest.mark.django_db

URL = reverse("patients:create")
DUPLICATES_URL = reverse("patients:duplicates")


def form_data(**fields) -> dict:
    """The panel's POST: the main block filled in, everything else empty."""
    values = {
        "last_name": "Кузнецова",
        "first_name": "Ольга",
        "middle_name": "Павловна",
        "phone": "8 (912) 345-67-89",
        "birth_date": "1990-04-12",
        "document_type": "passport",
        "messaging_consent": "on",
    }
    values.update(fields)
    return {f"patient-{name}": value for name, value in values.items() if value is not None}


def duplicate_links(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-duplicate-link="(\d+)"', response.content.decode())]


def form_errors(response):
    return response.context["form"].errors if response.context else None


@pytest.fixture
def refs(coordinator, doctor, branch):
    return {
        "gender": GenderFactory(name="Женский"),
        "channel": MarketingChannelFactory(name="Сайт клиники"),
        "group": PatientGroupFactory(name="Терапия"),
        "coordinator": coordinator.employee,
        "doctor": doctor.employee,
        "branch": branch,
    }


def test_the_panel_saves_the_three_blocks_and_opens_the_new_card(
    registrar_client, registrar, refs, django_capture_on_commit_callbacks
):
    snils, inn = valid_snils(), valid_person_inn()
    data = form_data(
        email="olga@example.ru",
        gender=refs["gender"].pk,
        marketing_channel=refs["channel"].pk,
        patient_group=refs["group"].pk,
        coordinator=refs["coordinator"].pk,
        attending_doctor=refs["doctor"].pk,
        branch=refs["branch"].pk,
        messaging_consent=None,  # unticked
        passport_series="45 08",
        passport_number="123456",
        passport_issued_by="ОВД Тверского района",
        passport_issued_on="2010-05-20",
        passport_department_code="770001",
        snils=f"{snils[:3]}-{snils[3:6]}-{snils[6:9]} {snils[9:]}",
        inn=inn,
        oms_policy="1234 5678 9012 3456",
        home_phone="8 495 123-45-67",
        registration_address="г. Москва, ул. Тверская, д. 1",
        actual_address="г. Москва, ул. Арбат, д. 2",
        comment="Боится уколов",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = registrar_client.post(URL, data)
    assert response.status_code == 302, form_errors(response)
    patient = Patient.objects.get()
    assert response.url == patient.get_absolute_url()
    assert (patient.last_name, patient.first_name, patient.middle_name) == (
        "Кузнецова",
        "Ольга",
        "Павловна",
    )
    assert patient.phone == "+79123456789"
    assert patient.home_phone == "+74951234567"
    assert patient.email == "olga@example.ru"
    assert patient.birth_date == datetime.date(1990, 4, 12)
    assert patient.gender == refs["gender"]
    assert patient.marketing_channel == refs["channel"]
    assert patient.patient_group == refs["group"]
    assert patient.coordinator == refs["coordinator"]
    assert patient.attending_doctor == refs["doctor"]
    assert patient.branch == refs["branch"]
    assert patient.messaging_consent is False
    assert (patient.passport_series, patient.passport_number) == ("4508", "123456")
    assert patient.passport_department_code == "770-001"
    assert patient.passport_issued_on == datetime.date(2010, 5, 20)
    assert patient.snils == snils
    assert patient.inn == inn
    assert patient.oms_policy == "1234567890123456"
    assert patient.registration_address == "г. Москва, ул. Тверская, д. 1"
    assert patient.actual_address == "г. Москва, ул. Арбат, д. 2"
    assert patient.comment == "Боится уколов"
    assert patient.created_by == registrar.user
    assert patient.card_number >= 1
    # The new card starts its own timeline.
    assert list(patient.timeline.values_list("name", flat=True)) == ["patient.created"]


def test_a_foreign_citizen_is_saved_with_another_document(registrar_client):
    data = form_data(
        document_type="other",
        other_document="Паспорт Республики Казахстан N1234567",
        citizenship="Казахстан",
    )
    response = registrar_client.post(URL, data)
    assert response.status_code == 302
    patient = Patient.objects.get()
    assert patient.document_type == DocumentType.OTHER
    assert patient.other_document == "Паспорт Республики Казахстан N1234567"
    assert patient.citizenship == "Казахстан"


@pytest.mark.parametrize(
    ("phone", "stored"),
    [
        ("+7 (912) 345-67-89", "+79123456789"),
        ("89123456789", "+79123456789"),
        ("9123456789", "+79123456789"),
        ("+375 29 123-45-67", "+375291234567"),
    ],
)
def test_the_phone_is_stored_in_e164_with_russia_as_the_default(registrar_client, phone, stored):
    response = registrar_client.post(URL, form_data(phone=phone))
    assert response.status_code == 302, form_errors(response)
    assert Patient.objects.get().phone == stored


def _future() -> str:
    return (timezone.localdate() + datetime.timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"phone": "12345"}, "phone", "12345"),
        ({"phone": "+7 (000) 000-00-00"}, "phone", "does not exist"),
        ({"phone": ""}, "phone", "required"),
        ({"last_name": ""}, "last_name", "required"),
        ({"first_name": "  "}, "first_name", "required"),
        ({"snils": broken_snils()}, "snils", "wrong check number"),
        ({"snils": "123-456"}, "snils", "11 digits"),
        ({"inn": valid_person_inn()[:-1] + "0"}, "inn", None),
        ({"inn": "7707083893"}, "inn", "12 digits"),
        ({"oms_policy": "123456789012345"}, "oms_policy", "16 digits"),
        ({"oms_policy": "12345678901234567"}, "oms_policy", "16 digits"),
        ({"birth_date": "future"}, "birth_date", "future"),
        ({"birth_date": "1899-12-31"}, "birth_date", "year of birth"),
        ({"passport_series": "450", "passport_number": "123456"}, "passport_series", "4 digits"),
        ({"passport_series": "4508", "passport_number": "12345"}, "passport_number", "6 digits"),
        ({"passport_department_code": "77-01"}, "passport_department_code", "6 digits"),
        ({"document_type": "other", "other_document": ""}, "other_document", "Describe"),
        ({"email": "not-an-email"}, "email", "email"),
    ],
    ids=[
        "phone-garbage",
        "phone-nonexistent",
        "phone-missing",
        "last-name-missing",
        "first-name-blank",
        "snils-checksum",
        "snils-length",
        "inn-checksum",
        "inn-of-a-company",
        "oms-15",
        "oms-17",
        "future-birth",
        "birth-before-1900",
        "passport-series",
        "passport-number",
        "department-code",
        "other-document",
        "email",
    ],
)
def test_bad_input_gets_a_field_error_and_creates_nothing(registrar_client, fields, field, message):
    if fields.get("birth_date") == "future":
        fields = {**fields, "birth_date": _future()}
    if field == "inn" and message is None:
        good = valid_person_inn()
        fields = {"inn": good[:-1] + str((int(good[-1]) + 1) % 10)}
        message = "wrong check number"
    response = registrar_client.post(URL, form_data(**fields), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message.lower() in " ".join(errors[field]).lower()
    # The error is shown next to the field, and nothing is saved.
    assert errors[field][0] in html.unescape(response.content.decode())
    assert not Patient.all_objects.exists()
    assert not OutboxEvent.objects.filter(name="patient.created").exists()


def test_a_valid_snils_passes_the_checksum():
    form = PatientForm(form_data(snils=valid_snils("123456789")), prefix="patient")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["snils"] == valid_snils("123456789")


def test_an_htmx_post_with_errors_returns_only_the_panel(registrar_client):
    response = registrar_client.post(URL, form_data(phone="12345"), HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith("<form")
    assert "data-patient-form" in html


def test_the_panel_opens_empty_and_as_a_fragment_for_htmx(registrar_client):
    page = registrar_client.get(URL)
    assert page.status_code == 200
    assert "<html" in page.content.decode()
    panel = registrar_client.get(URL, HTTP_HX_REQUEST="true")
    assert panel.status_code == 200
    assert "<html" not in panel.content.decode()
    assert 'name="patient-phone"' in panel.content.decode()


def test_adding_needs_the_change_right(client, branch):
    client.force_login(user_with_rights("patients_view", username="viewer", branch=branch))
    assert client.get(URL).status_code == 403
    assert client.post(URL, form_data()).status_code == 403
    assert not Patient.objects.exists()


def test_adding_sends_an_anonymous_visitor_to_log_in(client):
    response = client.post(URL, form_data())
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert not Patient.objects.exists()


# --- Card numbers -----------------------------------------------------------------------


def test_card_numbers_are_assigned_in_sequence_and_never_repeat(registrar):
    numbers = [
        services.patient_create(
            by=registrar.user,
            data={"last_name": f"Номеров{i}", "first_name": "Иван", "phone": f"+7912000000{i}"},
        ).card_number
        for i in range(3)
    ]
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    assert len(set(Patient.objects.values_list("card_number", flat=True))) == 3


def test_a_rolled_back_creation_does_not_burn_the_card_number(registrar):
    first = services.patient_create(
        by=registrar.user, data={"last_name": "Первый", "first_name": "Иван", "phone": ""}
    )
    with pytest.raises(ValidationError):  # the model refuses a birth date before 1900
        services.patient_create(
            by=registrar.user,
            data={
                "last_name": "Второй",
                "first_name": "Иван",
                "birth_date": datetime.date(1800, 1, 1),
            },
        )
    third = services.patient_create(
        by=registrar.user, data={"last_name": "Третий", "first_name": "Иван"}
    )
    assert third.card_number == first.card_number + 1


# --- Duplicates ---------------------------------------------------------------------------


def test_a_patient_with_the_same_phone_is_shown_before_saving(registrar_client):
    existing = PatientFactory(last_name="Старова", phone="+79123456789")
    response = registrar_client.post(URL, form_data(phone="8 912 345 67 89"))
    assert response.status_code == 200
    assert response.context["duplicates"] == [existing]
    html = response.content.decode()
    assert "data-duplicate-warning" in html
    assert f'href="{existing.get_absolute_url()}"' in html
    assert 'name="patient-confirm_duplicate" value="true"' in html
    assert Patient.objects.count() == 1


def test_a_patient_with_the_same_name_and_birth_date_is_a_possible_duplicate(registrar_client):
    existing = PatientFactory(
        last_name="Кузнецова", first_name="Ольга", birth_date=datetime.date(1990, 4, 12)
    )
    response = registrar_client.post(
        URL, form_data(last_name="кузнецова ", first_name="ОЛЬГА", phone="+79160000001")
    )
    assert response.context["duplicates"] == [existing]
    assert Patient.objects.count() == 1


def test_a_namesake_born_another_day_is_not_a_duplicate(registrar_client):
    PatientFactory(last_name="Кузнецова", first_name="Ольга", birth_date=datetime.date(1991, 4, 12))
    response = registrar_client.post(URL, form_data(phone="+79160000001"))
    assert response.status_code == 302
    assert Patient.objects.count() == 2


def test_a_deleted_card_is_not_offered_as_a_duplicate(registrar_client):
    PatientFactory(phone="+79123456789", deleted_at=timezone.now())
    response = registrar_client.post(URL, form_data())
    assert response.status_code == 302


def test_saving_again_after_the_warning_creates_the_card(registrar_client):
    existing = PatientFactory(phone="+79123456789")
    warning = registrar_client.post(URL, form_data())
    assert warning.context["duplicates"] == [existing]
    response = registrar_client.post(URL, {**form_data(), "patient-confirm_duplicate": "true"})
    assert response.status_code == 302
    created = Patient.objects.exclude(pk=existing.pk).get()
    assert created.phone == existing.phone
    assert response.url == created.get_absolute_url()


def test_the_duplicate_warning_over_htmx_keeps_the_panel_and_its_opener(registrar_client):
    PatientFactory(phone="+79123456789")
    response = registrar_client.post(URL, {**form_data(), "then": "close"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "data-duplicate-warning" in html
    # Saving anyway from the warning still hands the card back to the calendar.
    assert 'name="then" value="close"' in html


def test_the_service_refuses_a_duplicate_unless_confirmed(registrar):
    existing = PatientFactory(phone="+79123456789")
    data = {"last_name": "Новая", "first_name": "Анна", "phone": "+79123456789"}
    with pytest.raises(services.PossibleDuplicates) as caught:
        services.patient_create(by=registrar.user, data=data)
    assert caught.value.duplicates == [existing]
    assert Patient.objects.count() == 1
    services.patient_create(by=registrar.user, data=data, confirm_duplicate=True)
    assert Patient.objects.count() == 2


def test_the_live_duplicates_check_lists_matches_as_the_form_is_filled(registrar_client):
    existing = PatientFactory(last_name="Старова", phone="+79123456789")
    response = registrar_client.get(
        DUPLICATES_URL, {"patient-phone": "+7 912 345-67-89"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert duplicate_links(response) == [existing.pk]
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="duplicates-live">')
    assert f'href="{existing.get_absolute_url()}"' in content


def test_the_live_duplicates_check_matches_name_and_birth_date(registrar_client):
    existing = PatientFactory(
        last_name="Кузнецова", first_name="Ольга", birth_date=datetime.date(1990, 4, 12)
    )
    response = registrar_client.get(
        DUPLICATES_URL,
        {
            "patient-last_name": "Кузнецова",
            "patient-first_name": "Ольга",
            "patient-birth_date": "1990-04-12",
        },
    )
    assert duplicate_links(response) == [existing.pk]


def test_the_live_duplicates_check_is_quiet_for_a_new_person(registrar_client):
    PatientFactory(phone="+79123456789")
    response = registrar_client.get(
        DUPLICATES_URL, {"patient-phone": "+7 916 000-00-01", "patient-last_name": "Новый"}
    )
    assert duplicate_links(response) == []
    assert "data-duplicate-warning" not in response.content.decode()


def test_the_live_duplicates_check_ignores_a_half_typed_phone(registrar_client):
    PatientFactory(phone="+79123456789")
    response = registrar_client.get(DUPLICATES_URL, {"patient-phone": "8912"})
    assert response.status_code == 200
    assert duplicate_links(response) == []


def test_the_live_duplicates_check_can_leave_out_the_card_being_edited(registrar_client):
    existing = PatientFactory(phone="+79123456789")
    response = registrar_client.get(
        DUPLICATES_URL, {"patient-phone": "+79123456789", "exclude": existing.pk}
    )
    assert duplicate_links(response) == []


def test_the_live_duplicates_check_needs_the_patients_right(outsider_client):
    assert outsider_client.get(DUPLICATES_URL, {"patient-phone": "+79123456789"}).status_code == 403


# --- Opened from another screen -----------------------------------------------------------


def test_then_close_hands_the_new_card_back_to_the_opener(registrar_client):
    response = registrar_client.post(URL, {**form_data(), "then": "close"}, HTTP_HX_REQUEST="true")
    patient = Patient.objects.get()
    assert response.status_code == 204
    trigger = json.loads(response["HX-Trigger"])
    assert trigger["closeDialog"] is True
    assert trigger["patientCreated"] == {
        "id": patient.pk,
        "name": "Кузнецова Ольга Павловна",
        "card": patient.card_number,
    }
    # The success message travels as a toast instead of waiting for the next page.
    [toast] = trigger["toasts"]
    assert str(patient.card_number) in toast["text"] and toast["level"] == "success"


def test_then_close_after_a_confirmed_duplicate_still_hands_the_card_back(registrar_client):
    PatientFactory(phone="+79123456789")
    response = registrar_client.post(
        URL,
        {**form_data(), "then": "close", "patient-confirm_duplicate": "true"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204
    assert "patientCreated" in json.loads(response["HX-Trigger"])


def test_an_htmx_creation_redirects_the_page_to_the_new_card(registrar_client):
    response = registrar_client.post(URL, form_data(), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == Patient.objects.get().get_absolute_url()


# --- Side effects -------------------------------------------------------------------------


def test_creation_publishes_patient_created_and_writes_the_audit(
    registrar, refs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        patient = services.patient_create(
            by=registrar.user,
            data={
                "last_name": "Кузнецова",
                "first_name": "Ольга",
                "phone": "+79123456789",
                "attending_doctor": refs["doctor"],
                "marketing_channel": refs["channel"],
            },
        )
    event = OutboxEvent.objects.get(name="patient.created")
    assert event.aggregate_id == str(patient.pk)
    assert event.actor == registrar.user
    assert event.dispatched_at is not None
    assert event.payload["patient_id"] == patient.pk
    assert event.payload["phone"] == "+79123456789"
    assert event.payload["card_number"] == patient.card_number
    assert event.payload["attending_doctor"] == refs["doctor"].pk
    assert event.payload["marketing_channel"] == refs["channel"].pk
    entry = AuditEntry.objects.get(action="create", patient_id=patient.pk)
    assert entry.actor == registrar.user
    assert entry.object_id == str(patient.pk)
    assert entry.changes["last_name"] == [None, "Кузнецова"]
    assert PatientEvent.objects.filter(patient=patient, name="patient.created").count() == 1


def test_new_cards_start_primary_with_activity_now(registrar):
    patient = services.patient_create(
        by=registrar.user, data={"last_name": "Новая", "first_name": "Анна"}
    )
    assert patient.last_activity_at is not None
    assert patient.returning_since is None
    assert patient.status_at(timezone.now(), 12) == "primary"
