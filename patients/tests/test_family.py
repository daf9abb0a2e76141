"""Families: create one (with or without a family card number), join, leave."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEntry, OutboxEvent
from clinic.tests.factories import user_with_rights
from patients import services
from patients.models import Family, Patient
from patients.tests.factories import FamilyFactory, PatientFactory

pytestmark = pytest.mark.django_db


def url(name: str, patient) -> str:
    return reverse(f"patients:family-{name}", args=[patient.pk])


@pytest.fixture
def mother():
    return PatientFactory(last_name="Кузнецова", first_name="Ольга")


@pytest.fixture
def family_of_two():
    family = FamilyFactory(name="Семья Орловых", card_number="С-0042")
    father = PatientFactory(last_name="Орлов", first_name="Пётр", family=family)
    daughter = PatientFactory(last_name="Орлова", first_name="Дарья", family=family)
    return family, father, daughter


# --- Create ----------------------------------------------------------------------------


def test_the_create_dialog_suggests_a_family_name(doctor_client, mother):
    response = doctor_client.get(url("create", mother), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Family Кузнецова" in content
    assert "<html" not in content  # a dialog's content


def test_creating_a_family_with_a_card_number_puts_the_patient_in_it(
    doctor_client, doctor, mother, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = doctor_client.post(
            url("create", mother),
            {"name": "Семья Кузнецовых", "card_number": "С-0001"},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 204
    assert response["HX-Redirect"] == mother.get_absolute_url()
    mother.refresh_from_db()
    assert mother.family.name == "Семья Кузнецовых"
    assert mother.family.card_number == "С-0001"
    joined = OutboxEvent.objects.get(name="family.joined")
    assert joined.payload == {
        "patient_id": mother.pk,
        "family_id": mother.family.pk,
        "family": "Семья Кузнецовых (С-0001)",
    }
    assert AuditEntry.objects.filter(
        action="create", patient_id=mother.pk, object_id=str(mother.family.pk)
    ).exists()
    assert list(mother.timeline.values_list("name", flat=True)) == ["family.joined"]


def test_creating_a_family_without_a_card_number(doctor_client, mother):
    response = doctor_client.post(url("create", mother), {"name": "Семья К.", "card_number": ""})
    assert response.status_code == 302
    mother.refresh_from_db()
    assert (mother.family.name, mother.family.card_number) == ("Семья К.", "")
    # Many families have no card number; the empty number is not "taken".
    other = PatientFactory()
    doctor_client.post(url("create", other), {"name": "Другая семья", "card_number": ""})
    other.refresh_from_db()
    assert other.family.card_number == ""
    assert Family.objects.count() == 2


def test_a_taken_family_card_number_is_refused(doctor_client, mother, family_of_two):
    response = doctor_client.post(
        url("create", mother),
        {"name": "Семья Кузнецовых", "card_number": "С-0042"},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    assert "Another family already has this card number." in response.content.decode()
    mother.refresh_from_db()
    assert mother.family is None
    assert Family.objects.count() == 1


def test_the_service_refuses_a_taken_card_number(registrar, mother, family_of_two):
    with pytest.raises(ValidationError):
        services.family_create(patient=mother, by=registrar.user, name="X", card_number="С-0042")
    assert Family.objects.count() == 1


def test_a_patient_already_in_a_family_must_leave_it_first(registrar, family_of_two):
    _family, father, _daughter = family_of_two
    with pytest.raises(ValidationError):
        services.family_create(patient=father, by=registrar.user, name="Новая семья")
    other = FamilyFactory()
    with pytest.raises(ValidationError):
        services.family_join(patient=father, family=other, by=registrar.user)


def test_a_family_without_a_name_is_refused(doctor_client, mother):
    response = doctor_client.post(url("create", mother), {"name": "", "card_number": ""})
    assert response.status_code == 422
    assert not Family.objects.exists()


# --- Join --------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["орлов", "С-0042", "Дарья", "Семья Орл"])
def test_a_family_is_found_by_its_name_card_number_or_a_member(
    doctor_client, mother, family_of_two, query
):
    family, _father, _daughter = family_of_two
    PatientFactory(last_name="Посторонний", family=FamilyFactory(name="Семья Посторонних"))
    response = doctor_client.get(url("join", mother), {"q": query}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="family-results">')
    assert f'data-join-family="{family.pk}"' in content
    assert "Посторонних" not in content
    # Members are listed so the user recognises the family.
    assert "Орлов П. И." in content and "Орлова Д. И." in content


def test_the_join_dialog_opens_with_an_empty_search(doctor_client, mother, family_of_two):
    response = doctor_client.get(url("join", mother), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "data-family-search" in response.content.decode()
    assert "data-join-family" not in response.content.decode()


def test_joining_a_family_lists_the_patient_on_every_member_card(
    doctor_client, mother, family_of_two, django_capture_on_commit_callbacks
):
    family, father, daughter = family_of_two
    with django_capture_on_commit_callbacks(execute=True):
        response = doctor_client.post(url("join", mother), {"family": family.pk})
    assert response.status_code == 302
    assert response.url == mother.get_absolute_url()
    mother.refresh_from_db()
    assert mother.family == family
    for member in (father, daughter):
        card = doctor_client.get(member.get_absolute_url()).content.decode()
        assert f'data-family-member="{mother.pk}"' in card
    mine = doctor_client.get(mother.get_absolute_url()).content.decode()
    assert f'data-family-member="{father.pk}"' in mine
    assert f'data-family-member="{daughter.pk}"' in mine
    assert mother.timeline.filter(name="family.joined").count() == 1
    event = OutboxEvent.objects.get(name="family.joined")
    assert event.payload["family_id"] == family.pk


def test_joining_a_second_family_is_refused_with_a_message(doctor_client, family_of_two):
    _family, father, _daughter = family_of_two
    other = FamilyFactory()
    response = doctor_client.post(url("join", father), {"family": other.pk}, follow=True)
    assert response.status_code == 200
    father.refresh_from_db()
    assert father.family != other
    assert [m.level_tag for m in response.context["messages"]] == ["error"]


def test_joining_an_unknown_family_changes_nothing(doctor_client, mother):
    response = doctor_client.post(url("join", mother), {"family": 999_999})
    assert response.status_code == 422  # and says why: patients/tests/test_hostile_input.py
    mother.refresh_from_db()
    assert mother.family is None


# --- Leave -------------------------------------------------------------------------------


def test_leaving_keeps_the_family_for_the_others(
    doctor_client, family_of_two, django_capture_on_commit_callbacks
):
    family, father, daughter = family_of_two
    with django_capture_on_commit_callbacks(execute=True):
        response = doctor_client.post(url("leave", father), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    father.refresh_from_db()
    assert father.family is None
    assert Family.objects.filter(pk=family.pk).exists()
    left = OutboxEvent.objects.get(name="family.left")
    assert left.payload == {
        "patient_id": father.pk,
        "family_id": family.pk,
        "family": "Семья Орловых (С-0042)",
    }
    assert father.timeline.filter(name="family.left").count() == 1
    card = doctor_client.get(daughter.get_absolute_url()).content.decode()
    assert f'data-family-member="{father.pk}"' not in card


def test_the_last_member_leaving_removes_the_family(registrar, family_of_two):
    family, father, daughter = family_of_two
    services.family_leave(patient=father, by=registrar.user)
    services.family_leave(patient=Patient.objects.get(pk=daughter.pk), by=registrar.user)
    assert not Family.objects.filter(pk=family.pk).exists()
    assert AuditEntry.objects.filter(
        action="delete", object_id=str(family.pk), patient_id=daughter.pk
    ).exists()


def test_a_member_in_the_recycle_bin_keeps_the_family_alive(registrar, family_of_two):
    """Restoring a card brings its family back, so the family must outlive the others."""
    family, father, daughter = family_of_two
    services.patient_delete(patient=father, by=registrar.user)
    services.family_leave(patient=Patient.objects.get(pk=daughter.pk), by=registrar.user)
    assert Family.objects.filter(pk=family.pk).exists()
    assert Patient.all_objects.get(pk=father.pk).family_id == family.pk


def test_leaving_without_a_family_does_nothing(registrar, mother):
    services.family_leave(patient=mother, by=registrar.user)
    assert not OutboxEvent.objects.filter(name="family.left").exists()


def test_leave_is_post_only(doctor_client, family_of_two):
    _family, father, _daughter = family_of_two
    assert doctor_client.get(url("leave", father)).status_code == 405


# --- Rights ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method"), [("create", "get"), ("create", "post"), ("join", "get"), ("leave", "post")]
)
def test_family_changes_need_the_change_right(client, branch, family_of_two, name, method):
    family, father, _daughter = family_of_two
    client.force_login(user_with_rights("patients_view", username="viewer", branch=branch))
    response = getattr(client, method)(url(name, father))
    assert response.status_code == 403
    assert Patient.objects.get(pk=father.pk).family_id == family.pk


def test_family_dialogs_send_an_anonymous_visitor_to_log_in(client, mother):
    response = client.get(url("create", mother))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_family_of_a_deleted_card_is_not_found(doctor_client, mother):
    Patient.objects.filter(pk=mother.pk).update(deleted_at=timezone.now())
    assert doctor_client.get(url("create", mother)).status_code == 404
