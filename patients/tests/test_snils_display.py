"""SNILS is written 123-456-789 01 wherever the card shows it."""

import pytest
from django.urls import reverse

from patients.templatetags.patient_documents import snils
from patients.tests.factories import PatientFactory


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("11223344595", "112-233-445 95"),
        ("112-233-445 95", "112-233-445 95"),
        ("", ""),
        (None, ""),
        ("12345", "12345"),
    ],
)
def test_the_snils_filter_groups_eleven_digits(stored, shown):
    assert snils(stored) == shown


@pytest.mark.django_db
def test_the_card_shows_snils_grouped(registrar_client, branch):
    patient = PatientFactory(branch=branch, snils="11223344595")
    content = registrar_client.get(reverse("patients:card", args=[patient.pk])).content.decode()
    assert "<span data-snils>112-233-445 95</span>" in content
