"""The legal representative of a child or a ward, on the card."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from clinic.models import AuditEntry, OutboxEvent
from patients.models import LegalRepresentative
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

FORM = {
    "representative-relation": "mother",
    "representative-last_name": " Петрова ",
    "representative-first_name": "Мария",
    "representative-middle_name": "Ивановна",
    "representative-birth_date": "1985-05-17",
    "representative-phone": "8 (912) 345-67-89",
    "representative-address": "г. Москва, ул. Мира, д. 5",
    "representative-passport_series": "45 10",
    "representative-passport_number": "123456",
    "representative-passport_issued_on": "2015-06-20",
    "representative-passport_issued_by": "ГУ МВД России по г. Москве",
}


@pytest.fixture
def child():
    return PatientFactory(
        last_name="Петров", first_name="Миша", birth_date=datetime.date(2018, 1, 2)
    )


def test_the_representative_is_added_edited_and_removed_on_the_card_with_audit(
    registrar_client, registrar, child
):
    url = reverse("patients:representative-edit", args=[child.pk])
    form = registrar_client.get(url, headers={"HX-Request": "true"})
    assert form.status_code == 200 and "data-representative-form" in form.content.decode()
    response = registrar_client.post(url, FORM, headers={"HX-Request": "true"})
    assert response.status_code == 204
    representative = LegalRepresentative.objects.get(patient=child)
    assert (representative.full_name, representative.phone, representative.passport_series) == (
        "Петрова Мария Ивановна",
        "+79123456789",
        "4510",
    )
    created = AuditEntry.objects.filter(content_type__model="legalrepresentative").latest("id")
    assert (created.action, created.patient_id, created.actor) == (
        "create",
        child.pk,
        registrar.user,
    )
    card = registrar_client.get(reverse("patients:card", args=[child.pk])).content.decode()
    assert "Петрова Мария Ивановна" in card and "data-representative-remove" in card

    registrar_client.post(url, {**FORM, "representative-relation": "guardian"})
    changed = AuditEntry.objects.filter(content_type__model="legalrepresentative").latest("id")
    assert changed.action == "update" and changed.changes["relation"] == ["mother", "guardian"]

    registrar_client.post(reverse("patients:representative-remove", args=[child.pk]))
    assert not LegalRepresentative.objects.filter(patient=child).exists()
    removed = AuditEntry.objects.filter(content_type__model="legalrepresentative").latest("id")
    assert (removed.action, removed.patient_id) == ("delete", child.pk)
    names = list(OutboxEvent.objects.values_list("name", flat=True))
    assert names.count("patient.representative_saved") == 2
    assert "patient.representative_removed" in names


def test_a_bad_passport_or_phone_is_refused_field_by_field(registrar_client, child):
    url = reverse("patients:representative-edit", args=[child.pk])
    bad = {**FORM, "representative-passport_series": "45", "representative-phone": "12"}
    response = registrar_client.post(url, bad, headers={"HX-Request": "true"})
    assert response.status_code == 422
    page = response.content.decode()
    with translation.override("ru"):  # the page's language, as a browser without a choice
        assert translation.gettext("A passport series has 4 digits.") in page
    assert not LegalRepresentative.objects.exists()


def test_only_who_may_change_the_card_edits_the_representative(accountant, child):
    client = Client()
    client.force_login(accountant.user)
    url = reverse("patients:representative-edit", args=[child.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, FORM).status_code == 403
    assert client.get(reverse("patients:representative-remove", args=[child.pk])).status_code == 405
