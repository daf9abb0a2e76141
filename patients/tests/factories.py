import datetime
import random

import factory
from django.core.files.base import ContentFile
from django.utils import timezone
from factory.django import DjangoModelFactory

from clinic.models import MarketingChannel, PatientGroup
from clinic.validators import inn_is_valid, snils_check_digits
from patients.models import (
    Family,
    ImportStatus,
    Patient,
    PatientEvent,
    PatientImport,
    PortalAccount,
)


class PatientFactory(DjangoModelFactory):
    class Meta:
        model = Patient

    card_number = factory.Sequence(lambda n: 100_000 + n)
    last_name = factory.Sequence(lambda n: f"Тестов{n}")
    first_name = "Иван"
    middle_name = "Иванович"
    phone = factory.Sequence(lambda n: f"+7912{n:07d}")
    birth_date = datetime.date(1985, 5, 17)


class FamilyFactory(DjangoModelFactory):
    class Meta:
        model = Family

    name = factory.Sequence(lambda n: f"Семья {n}")


class PatientImportFactory(DjangoModelFactory):
    class Meta:
        model = PatientImport

    file = factory.LazyFunction(lambda: ContentFile("Фамилия;Имя;Телефон\n", name="patients.csv"))
    original_name = "patients.csv"
    status = ImportStatus.PREVIEW


class MarketingChannelFactory(DjangoModelFactory):
    class Meta:
        model = MarketingChannel
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Канал {n}")


class PatientGroupFactory(DjangoModelFactory):
    class Meta:
        model = PatientGroup
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Группа пациентов {n}")


class PortalAccountFactory(DjangoModelFactory):
    class Meta:
        model = PortalAccount

    patient = factory.SubFactory(PatientFactory)
    login = factory.LazyAttribute(lambda account: account.patient.phone)
    activated_at = factory.LazyFunction(timezone.now)


class PatientEventFactory(DjangoModelFactory):
    class Meta:
        model = PatientEvent

    patient = factory.SubFactory(PatientFactory)
    source_event_id = factory.Sequence(lambda n: 1_000_000 + n)
    name = "patient.updated"
    occurred_at = factory.LazyFunction(timezone.now)
    payload = factory.LazyAttribute(lambda entry: {"patient_id": entry.patient.pk, "changed": []})


def valid_snils(first_nine: str = "112233445") -> str:
    return first_nine + snils_check_digits(first_nine)


def broken_snils(first_nine: str = "112233445") -> str:
    right = snils_check_digits(first_nine)
    wrong = f"{(int(right) + 1) % 100:02d}"
    return first_nine + wrong


def valid_person_inn(seed: int = 7) -> str:
    """A 12-digit INN whose two check digits are right."""
    rng = random.Random(seed)
    while True:
        digits = "".join(str(rng.randint(0, 9)) for _ in range(10))
        for tail in (f"{a}{b}" for a in range(10) for b in range(10)):
            if inn_is_valid(digits + tail):
                return digits + tail
