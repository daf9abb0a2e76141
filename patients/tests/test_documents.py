"""One person, one card: a SNILS or INN already on a live card is refused when a card is added
or edited (the import's side is in test_import_jobs.py)."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.models import AuditEntry
from clinic.services import object_restore
from patients import services
from patients.models import Patient
from patients.tests.factories import PatientFactory, valid_person_inn, valid_snils
from patients.tests.test_card import info_data
from patients.tests.test_create import form_data

pytestmark = pytest.mark.django_db

CREATE = reverse("patients:create")
SNILS = valid_snils("112233445")
INN = valid_person_inn()


@pytest.fixture
def owner():
    return PatientFactory(last_name="Первова", first_name="Анна", snils=SNILS, inn=INN)


def field_errors(response, name: str) -> list[str]:
    return response.context["form"].errors.get(name, [])


@pytest.mark.parametrize(
    ("name", "typed"),
    [("snils", f"{SNILS[:3]}-{SNILS[3:6]}-{SNILS[6:9]} {SNILS[9:]}"), ("inn", INN)],
)
def test_adding_a_card_with_anothers_snils_or_inn_is_refused_naming_that_card(
    registrar_client, owner, name, typed
):
    for confirm in ("", "true"):  # "a different person: save" does not get past it
        response = registrar_client.post(
            CREATE,
            {**form_data(**{name: typed}), "patient-confirm_duplicate": confirm},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 422
        [message] = field_errors(response, name)
        assert f"№ {owner.card_number}" in message and "Первова Анна" in message
    assert Patient.objects.count() == 1


def test_a_new_card_may_take_the_number_of_a_card_in_the_recycle_bin(registrar_client, owner):
    Patient.all_objects.filter(pk=owner.pk).update(deleted_at=timezone.now())
    response = registrar_client.post(CREATE, form_data(snils=SNILS))
    assert response.status_code == 302
    assert Patient.objects.get().snils == SNILS


def test_restoring_a_card_whose_number_was_taken_meanwhile_is_refused(registrar, owner):
    Patient.all_objects.filter(pk=owner.pk).update(deleted_at=timezone.now())
    PatientFactory(snils=SNILS)
    owner.refresh_from_db()
    with pytest.raises(ValidationError, match=_("Another card already has this SNILS.")):
        object_restore(obj=owner, by=registrar.user)
    assert Patient.all_objects.get(pk=owner.pk).deleted_at is not None


@pytest.mark.parametrize("name", ["snils", "inn"])
def test_editing_a_card_to_anothers_snils_or_inn_is_refused(doctor_client, owner, name):
    patient = PatientFactory(last_name="Вторая")
    url = reverse("patients:info-edit", args=[patient.pk])
    response = doctor_client.post(
        url, info_data(patient, **{name: getattr(owner, name)}), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 422
    content = response.content.decode()
    assert re.search(rf'name="info-{name}"[^>]*aria-invalid="true"', content)
    assert f"№ {owner.card_number}" in content and "Первова Анна" in content
    patient.refresh_from_db()
    assert getattr(patient, name) == ""
    assert not AuditEntry.objects.filter(object_id=str(patient.pk), action="update").exists()


def test_a_card_keeps_its_own_snils_and_inn_when_edited(doctor_client, owner):
    url = reverse("patients:info-edit", args=[owner.pk])
    response = doctor_client.post(url, info_data(owner, actual_address="г. Москва"))
    assert response.status_code == 302
    owner.refresh_from_db()
    assert (owner.snils, owner.actual_address) == (SNILS, "г. Москва")


def test_the_live_duplicates_check_finds_the_card_with_the_snils(registrar_client, owner):
    response = registrar_client.get(reverse("patients:duplicates"), {"patient-snils": SNILS})
    assert f'data-duplicate-link="{owner.pk}"' in response.content.decode()
    response = registrar_client.get(reverse("patients:duplicates"), {"patient-inn": INN})
    assert f'data-duplicate-link="{owner.pk}"' in response.content.decode()


@pytest.mark.parametrize("name", ["snils", "inn"])
def test_two_saves_at_the_same_moment_meet_the_unique_index_as_a_field_error(
    registrar, owner, monkeypatch, name
):
    """The check reads before it writes; the index catches the save that slipped between."""
    monkeypatch.setattr(services, "refuse_taken_documents", lambda data, **kwargs: None)
    monkeypatch.setattr(Patient, "validate_constraints", lambda self, exclude=None: None)
    data = {"last_name": "Гонкова", "first_name": "Вера", name: getattr(owner, name)}
    with pytest.raises(ValidationError) as caught:
        services.patient_create(by=registrar.user, data=data, confirm_duplicate=True)
    assert list(caught.value.message_dict) == [name]
    other = PatientFactory()
    with pytest.raises(ValidationError) as caught:
        services.patient_update(patient=other, by=registrar.user, data={name: data[name]})
    assert list(caught.value.message_dict) == [name]
    assert Patient.objects.filter(**{name: data[name]}).count() == 1
