"""A small clinic for calendar tests: a Moscow branch with two chairs and two doctors on
shifts next Monday, and a patient. Times are built in the branch's zone."""

import datetime
import zoneinfo
from dataclasses import dataclass

import pytest

from clinic.models import Branch, Chair, Employee, ProfessionKind
from clinic.tests.factories import BranchFactory, ChairFactory, EmployeeFactory, ProfessionFactory
from patients.models import Patient
from patients.tests.factories import PatientFactory

from .factories import WorkShiftFactory

MOSCOW = zoneinfo.ZoneInfo("Europe/Moscow")


def next_monday(today: datetime.date | None = None) -> datetime.date:
    today = today or datetime.date.today()
    return today + datetime.timedelta(days=7 - today.weekday())


@dataclass
class Clinic:
    branch: Branch
    chair1: Chair
    chair2: Chair
    doctor: Employee
    doctor2: Employee
    patient: Patient
    day: datetime.date

    def at(self, hour: int, minute: int = 0, day: datetime.date | None = None) -> datetime.datetime:
        return datetime.datetime.combine(
            day or self.day, datetime.time(hour, minute), tzinfo=self.branch.zone
        )


@pytest.fixture
def clinic(branch) -> Clinic:
    therapist = ProfessionFactory(name="Терапевт", kind=ProfessionKind.DOCTOR)
    surgeon = ProfessionFactory(name="Хирург", kind=ProfessionKind.DOCTOR)
    chair1 = ChairFactory(branch=branch, name="Кресло 1", position=1)
    chair2 = ChairFactory(branch=branch, name="Кресло 2", position=2)
    doctor = EmployeeFactory(last_name="Терапевтова", branches=[branch], professions=[therapist])
    doctor2 = EmployeeFactory(last_name="Хирургов", branches=[branch], professions=[surgeon])
    day = next_monday()
    world = Clinic(branch, chair1, chair2, doctor, doctor2, PatientFactory(), day)
    WorkShiftFactory(doctor=doctor, chair=chair1, start=world.at(9), end=world.at(15))
    WorkShiftFactory(doctor=doctor2, chair=chair2, start=world.at(12), end=world.at(18))
    return world


@pytest.fixture
def yekaterinburg_clinic(db) -> Clinic:
    branch = BranchFactory(name="Екатеринбург", time_zone="Asia/Yekaterinburg")
    chair1 = ChairFactory(branch=branch, name="Е-1")
    chair2 = ChairFactory(branch=branch, name="Е-2")
    doctor = EmployeeFactory(
        last_name="Уральская", branches=[branch], professions=[ProfessionFactory(name="Терапевт")]
    )
    doctor2 = EmployeeFactory(last_name="Уральский", branches=[branch])
    return Clinic(branch, chair1, chair2, doctor, doctor2, PatientFactory(), next_monday())
