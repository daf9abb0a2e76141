"""Hostile input to the patient screens: a clear 4xx, never a 500 or a silent success."""

import re

import pytest
from django.urls import reverse

from clinic.models import AuditEntry
from patients.models import Family, Patient
from patients.tests.factories import FamilyFactory, PatientFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.parametrize("family", ["123456789", str(2**63), "x", ""])
@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
def test_joining_a_family_that_does_not_exist_is_a_form_error(doctor_client, family, headers):
    patient = PatientFactory()
    FamilyFactory()
    audit_before = AuditEntry.objects.count()
    response = doctor_client.post(
        reverse("patients:family-join", args=[patient.pk]),
        {"family": family},
        HTTP_ACCEPT_LANGUAGE="en",
        **headers,
    )
    assert response.status_code == 422
    expected = "Choose a family." if family == "" else "This family no longer exists"
    assert expected in response.content.decode()
    assert "data-join-error" in response.content.decode()
    patient.refresh_from_db()
    assert patient.family is None
    assert AuditEntry.objects.count() == audit_before


def test_the_join_buttons_post_back_into_the_dialog(doctor_client):
    patient = PatientFactory()
    family = FamilyFactory(name="Семья Орловых")
    PatientFactory(last_name="Орлов", family=family)
    response = doctor_client.get(
        reverse("patients:family-join", args=[patient.pk]), {"q": "Орлов"}, **HTMX
    )
    url = reverse("patients:family-join", args=[patient.pk])
    assert f'hx-post="{url}" hx-target="#app-dialog-body"' in response.content.decode()
    joined = doctor_client.post(url, {"family": family.pk}, **HTMX)
    assert joined.status_code == 204
    assert joined["HX-Redirect"] == patient.get_absolute_url()


@pytest.mark.parametrize("query", ["ab\x00c", "\x00", "Ив\x1bанов"])
@pytest.mark.parametrize(
    "url_name", ["patients:family-join", "patients:list", "patients:quick-search"]
)
def test_a_control_character_in_a_search_box_is_a_400_with_a_message(
    doctor_client, query, url_name
):
    patient = PatientFactory()
    url = (
        reverse(url_name, args=[patient.pk])
        if url_name == "patients:family-join"
        else reverse(url_name)
    )
    response = doctor_client.get(url, {"q": query}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "control character" in response.json()["error"]


@pytest.mark.parametrize(
    ("birth_date", "message"),
    [
        ("0001-01-01", "Check the year of birth."),
        ("1899-12-31", "Check the year of birth."),
        ("9999-12-31", "The date of birth cannot be in the future."),
    ],
)
def test_a_birth_date_keeps_its_own_rule(registrar_client, birth_date, message):
    patient = PatientFactory()
    response = registrar_client.post(
        reverse("patients:info-edit", args=[patient.pk]),
        {"info-phone": "+79123456789", "info-birth_date": birth_date},
        HTTP_ACCEPT_LANGUAGE="en",
        **HTMX,
    )
    assert response.status_code == 422
    content = response.content.decode()
    assert re.search(r'name="info-birth_date"[^>]*aria-invalid="true"', content)
    assert message in content


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_other_dates_of_a_card_stay_within_the_sane_window(registrar_client, day):
    patient = PatientFactory()
    response = registrar_client.post(
        reverse("patients:info-edit", args=[patient.pk]),
        {"info-phone": "+79123456789", "info-passport_issued_on": day},
        HTTP_ACCEPT_LANGUAGE="en",
        **HTMX,
    )
    assert response.status_code == 422
    content = response.content.decode()
    assert re.search(r'name="info-passport_issued_on"[^>]*aria-invalid="true"', content)
    assert "Enter a date from 01/01/1900 to 12/31/2100." in content
    patient.refresh_from_db()
    assert patient.passport_issued_on is None


@pytest.mark.parametrize("exclude", [str(2**63), "²", "-1"])
def test_the_duplicate_check_ignores_an_exclude_that_is_no_id(registrar_client, exclude):
    response = registrar_client.get(
        reverse("patients:duplicates"),
        {"patient-phone": "+79123456789", "exclude": exclude},
        **HTMX,
    )
    assert response.status_code == 200
    assert Patient.objects.count() == 0 and Family.objects.count() == 0
