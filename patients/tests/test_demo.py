"""The demo clinic: 500 realistic patients with valid phones, families, channels, groups."""

import io

import phonenumbers
import pytest
from django.core.management import call_command
from django.db.models import Count

from clinic.numbering import next_number
from clinic.validators import validate_snils
from patients.demo import seed_patients
from patients.models import Family, Patient, PortalAccount
from patients.selectors import patient_search
from patients.services import CARD_SEQUENCE

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_500_realistic_patients_once():
    call_command("seed_demo", stdout=io.StringIO())
    patients = list(Patient.objects.select_related("family"))
    assert len(patients) == 500
    # Valid mobile numbers in E.164, each patient their own.
    for patient in patients:
        number = phonenumbers.parse(patient.phone)
        assert phonenumbers.is_valid_number(number), patient.phone
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == (
            patient.phone
        )
        if patient.snils:
            validate_snils(patient.snils)
    assert len({p.phone for p in patients}) == 500
    # Russian names, with patronymics.
    assert all(p.last_name and p.first_name and p.middle_name for p in patients)
    assert all("А" <= p.last_name[0] <= "Я" or p.last_name[0] == "Ё" for p in patients)
    # Families of two or more.
    sizes = list(Family.objects.annotate(size=Count("members")).values_list("size", flat=True))
    assert len(sizes) >= 10
    assert min(sizes) >= 2
    # Channels and groups on most cards.
    assert sum(p.marketing_channel_id is not None for p in patients) > 500 * 0.7
    assert sum(p.patient_group_id is not None for p in patients) > 500 * 0.5
    assert sum(p.attending_doctor_id is not None for p in patients) > 500 * 0.5
    # Card numbers 1..500, and the next card continues after them.
    assert sorted(p.card_number for p in patients) == list(range(1, 501))
    assert next_number(CARD_SEQUENCE) == 501
    # Every card has a timeline to show, and some have a portal account.
    assert all(p.timeline.exists() for p in patients[:20])
    assert PortalAccount.objects.count() > 0
    # Children in families have a legal representative: their family's first adult.
    children = [
        p for p in patients if p.family_id and p.birth_date and p.age is not None and p.age < 18
    ]
    assert children
    for child in children:
        assert child.representative.last_name.rstrip("а") == child.last_name.rstrip("а")
    # And the demo patients are findable the way the front desk searches.
    first = patients[0]
    assert first in patient_search(first.last_name[:5], limit=50)
    assert first in patient_search(first.phone[-7:], limit=50)
    # Seeding again (seed_demo --force) leaves the patients as they are.
    seed_patients(lambda line: None)
    assert Patient.objects.count() == 500
