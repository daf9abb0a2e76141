"""Demo data for a Russian clinic network, and the demo roles the tests share.

``seed_demo`` (the management command) runs every registered seeder in order; later apps
register theirs in ``AppConfig.ready()`` with ``register_seeder``. Passwords equal user
names here and nowhere else.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from clinic.models import (
    Branch,
    Chair,
    Employee,
    Gender,
    Insurer,
    MarketingChannel,
    Measure,
    Organization,
    ParentDiagnosisGroup,
    PatientGroup,
    PayPeriod,
    PayVariant,
    Profession,
    ProfessionKind,
    RightsGroup,
    Unit,
    User,
)
from clinic.modules import MODULES, permission_codename

# --- Roles -----------------------------------------------------------------------------


def rights(*specs: str) -> list[str]:
    """``rights("patients:view,change", "home:view")`` -> permission codenames."""
    codenames = []
    for spec in specs:
        module, _sep, actions = spec.partition(":")
        codenames += [permission_codename(module, action) for action in actions.split(",")]
    return codenames


ALL_RIGHTS = [permission_codename(m.key, a) for m in MODULES for a in m.actions]

ROLE_GROUPS: dict[str, tuple[str, list[str]]] = {
    "management": ("Руководство", ALL_RIGHTS),
    "registrar": (
        "Регистратура",
        rights(
            "home:view",
            "patients:view,change,export",
            "calendar:view,change",
            "chat:view,change",
            "mail:view,change",
            "tasks:view,change",
            "crm:view,change",
            "coordinators:view",
            "insurance:view",
            "discounts:view",
            "documents:view,change",
            "references:view",
            "billing:view,change,deposit",
        ),
    ),
    "doctor": (
        "Врачи",
        rights(
            "home:view",
            "patients:view,change",
            "calendar:view",
            "schedule:view,change",
            "clinical:view,change",
            "chat:view,change",
            "tasks:view,change",
            "labs:view,change",
            "warehouse:view",
            "documents:view,change",
            "references:view",
            "billing:view",
        ),
    ),
    "coordinator": (
        "Координаторы",
        rights(
            "home:view",
            "patients:view,change,export",
            "calendar:view,change",
            "chat:view,change",
            "mail:view,change",
            "tasks:view,change",
            "crm:view,change",
            "coordinators:view,change",
            "marketing:view",
            "insurance:view",
            "documents:view",
        ),
    ),
    "accountant": (
        "Бухгалтерия",
        rights(
            "home:view",
            "patients:view",
            "reports:view",
            "budget:view,change",
            "ebitda:view,change",
            "discounts:view,change",
            "insurance:view,change",
            "labs:view",
            "warehouse:view,change",
            "staff:view",
            "documents:view",
            "references:view",
            "chat:view,change",
            "tasks:view,change",
            "billing:view,change,rollback,refund,deposit",
        ),
    ),
}


def ensure_rights_groups() -> dict[str, RightsGroup]:
    permissions = {
        p.codename: p for p in Permission.objects.filter(content_type__app_label="clinic")
    }
    result = {}
    for role, (name, codenames) in ROLE_GROUPS.items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.set([permissions[c] for c in codenames])
        rights_group, _created = RightsGroup.objects.get_or_create(
            group=group, defaults={"description": f"Демо-роль «{role}»"}
        )
        result[role] = rights_group
    return result


# --- Reference books ------------------------------------------------------------------

DOCTOR_PROFESSIONS = [
    "Терапевт",
    "Хирург",
    "Ортопед",
    "Ортодонт",
    "Пародонтолог",
    "Гигиенист",
    "Детский стоматолог",
    "Рентгенолог",
]
STAFF_PROFESSIONS = [
    "Администратор",
    "Координатор",
    "Бухгалтер",
    "Ассистент стоматолога",
    "Управляющий",
    "Кассир",
]
PARENT_DIAGNOSES = [
    "Кариес и некариозные поражения",
    "Болезни пульпы и периапикальных тканей",
    "Болезни пародонта",
    "Аномалии зубочелюстной системы",
    "Потеря зубов",
    "Болезни слизистой оболочки полости рта",
]
INSURERS = ["СОГАЗ", "Ингосстрах", "РЕСО-Гарантия", "АльфаСтрахование", "Согласие", "ВСК"]
MARKETING_CHANNELS = [
    "Рекомендация знакомых",
    "Яндекс Карты",
    "2ГИС",
    "Сайт клиники",
    "ПроДокторов",
    "СберЗдоровье",
    "ВКонтакте",
    "Telegram",
    "Наружная реклама",
    "Проходил мимо",
]
PATIENT_GROUPS = [
    "Терапия",
    "Ортопедия",
    "Имплантация",
    "Ортодонтия",
    "Гигиена",
    "Детская стоматология",
]
UNITS = [
    ("Штука", "шт", Measure.PIECE, "1"),
    ("Пара", "пара", Measure.PIECE, "2"),
    ("Упаковка", "уп", Measure.PACKAGE, "1"),
    ("Грамм", "г", Measure.MASS, "0.001"),
    ("Килограмм", "кг", Measure.MASS, "1"),
    ("Миллилитр", "мл", Measure.VOLUME, "0.001"),
    ("Литр", "л", Measure.VOLUME, "1"),
    ("Миллиметр", "мм", Measure.LENGTH, "0.001"),
    ("Сантиметр", "см", Measure.LENGTH, "0.01"),
    ("Метр", "м", Measure.LENGTH, "1"),
]
PAY_VARIANTS = [
    ("Оклад в месяц", PayPeriod.MONTH),
    ("За смену", PayPeriod.SHIFT),
    ("За час", PayPeriod.HOUR),
    ("За день", PayPeriod.DAY),
]


def _names(model, names, **fixed):
    for position, name in enumerate(names, start=1):
        model.objects.get_or_create(name=name, **fixed, defaults={"position": position})


def seed_references() -> None:
    _names(Gender, ["Мужской", "Женский"])
    _names(Profession, DOCTOR_PROFESSIONS, kind=ProfessionKind.DOCTOR)
    _names(Profession, STAFF_PROFESSIONS, kind=ProfessionKind.STAFF)
    _names(ParentDiagnosisGroup, PARENT_DIAGNOSES)
    _names(Insurer, INSURERS)
    _names(MarketingChannel, MARKETING_CHANNELS)
    _names(PatientGroup, PATIENT_GROUPS)
    for position, (name, short, measure, ratio) in enumerate(UNITS, start=1):
        Unit.objects.get_or_create(
            name=name,
            defaults={
                "short_name": short,
                "measure": measure,
                "ratio": ratio,
                "position": position,
            },
        )
    for position, (name, period) in enumerate(PAY_VARIANTS, start=1):
        PayVariant.objects.get_or_create(
            name=name, defaults={"period": period, "position": position}
        )


# --- Organization, branches, staff ----------------------------------------------------


DEMO_BRANCH_RENAMES = {
    "Одонта на Тверской": "Odonta на Тверской",
    "Одонта в Екатеринбурге": "Odonta в Екатеринбурге",
}


def seed_organization() -> list[Branch]:
    Organization.objects.update_or_create(
        pk=1,
        defaults={
            "name": "Odonta",
            "legal_name": "ООО «Одонта»",
            "inn": "7707083893",
            "kpp": "770701001",
            "ogrn": "1027700132195",
            "medical_license": "Л041-01137-77/00368412",
            "license_issued_on": datetime.date(2021, 3, 12),
            "license_issued_by": "Департамент здравоохранения города Москвы",
            "legal_address": "125009, г. Москва, ул. Тверская, д. 12, стр. 1",
            "phone": "+74951234567",
            "email": "info@odonta.example",
            "director": "Орлов В. Г.",
            "bank_name": "ПАО Сбербанк",
            "bank_bik": "044525225",
            "bank_account": "40702810938000012345",
            "bank_corr_account": "30101810400000000225",
            "currency": "RUB",
            "time_zone": "Europe/Moscow",
        },
    )
    Organization.forget_cached()
    # The brand is spelt "Odonta" in both languages; rename what an earlier demo seeded.
    for old, new in DEMO_BRANCH_RENAMES.items():
        Branch.objects.filter(name=old).update(name=new)
    moscow, _c = Branch.objects.get_or_create(
        name="Odonta на Тверской",
        defaults={
            "address": "г. Москва, ул. Тверская, д. 12",
            "phone": "+74951234567",
            "time_zone": "Europe/Moscow",
            "opens_at": datetime.time(9),
            "closes_at": datetime.time(21),
            "position": 1,
        },
    )
    yekaterinburg, _c = Branch.objects.get_or_create(
        name="Odonta в Екатеринбурге",
        defaults={
            "address": "г. Екатеринбург, ул. Малышева, д. 51",
            "phone": "+73432345678",
            "time_zone": "Asia/Yekaterinburg",
            "opens_at": datetime.time(8),
            "closes_at": datetime.time(20),
            "position": 2,
        },
    )
    for branch, count in ((moscow, 5), (yekaterinburg, 3)):
        for number in range(1, count + 1):
            Chair.objects.get_or_create(
                branch=branch, name=f"Кресло {number}", defaults={"position": number}
            )
    return [moscow, yekaterinburg]


@dataclass(frozen=True)
class DemoPerson:
    last_name: str
    first_name: str
    middle_name: str
    kind: str
    professions: tuple[str, ...]
    branches: str  # "M", "E" or "ME"
    color: str
    username: str = ""
    role: str = ""


DEMO_PEOPLE = [
    DemoPerson(
        "Смирнова",
        "Анна",
        "Викторовна",
        "doctor",
        ("Терапевт",),
        "M",
        "#2e86de",
        "doctor",
        "doctor",
    ),
    DemoPerson("Кузнецов", "Дмитрий", "Олегович", "doctor", ("Терапевт",), "M", "#10ac84"),
    DemoPerson("Волкова", "Екатерина", "Сергеевна", "doctor", ("Терапевт",), "E", "#ee5253"),
    DemoPerson("Соколов", "Игорь", "Николаевич", "doctor", ("Хирург",), "M", "#8854d0"),
    DemoPerson("Лебедев", "Артём", "Павлович", "doctor", ("Хирург",), "E", "#fa8231"),
    DemoPerson("Новикова", "Мария", "Андреевна", "doctor", ("Ортопед",), "M", "#0fb9b1"),
    DemoPerson("Морозов", "Алексей", "Владимирович", "doctor", ("Ортопед",), "ME", "#4b6584"),
    DemoPerson("Павлова", "Ольга", "Игоревна", "doctor", ("Ортодонт",), "M", "#eb3b5a"),
    DemoPerson(
        "Фёдорова", "Татьяна", "Михайловна", "doctor", ("Пародонтолог", "Гигиенист"), "M", "#20bf6b"
    ),
    DemoPerson("Егорова", "Светлана", "Юрьевна", "doctor", ("Детский стоматолог",), "E", "#f7b731"),
    DemoPerson(
        "Орлов",
        "Виктор",
        "Геннадьевич",
        "staff",
        ("Управляющий",),
        "ME",
        "#3867d6",
        "admin",
        "management",
    ),
    DemoPerson(
        "Иванова",
        "Елена",
        "Петровна",
        "staff",
        ("Администратор",),
        "M",
        "#a5b1c2",
        "registrar",
        "registrar",
    ),
    DemoPerson("Зайцева", "Наталья", "Андреевна", "staff", ("Администратор",), "E", "#a5b1c2"),
    DemoPerson(
        "Белова",
        "Ирина",
        "Александровна",
        "staff",
        ("Координатор",),
        "ME",
        "#fd9644",
        "coordinator",
        "coordinator",
    ),
    DemoPerson(
        "Григорьева",
        "Людмила",
        "Викторовна",
        "staff",
        ("Бухгалтер",),
        "ME",
        "#778ca3",
        "accountant",
        "accountant",
    ),
]

DEMO_LOGINS = [(p.username, p.role) for p in DEMO_PEOPLE if p.username]


def seed_staff(branches: list[Branch], groups: dict[str, RightsGroup]) -> None:
    by_letter = {"M": branches[0], "E": branches[1]}
    professions = {(p.kind, p.name): p for p in Profession.objects.all()}
    for index, person in enumerate(DEMO_PEOPLE, start=1):
        user = None
        if person.username:
            user, created = User.objects.get_or_create(username=person.username)
            if created:
                user.set_password(person.username)  # demo only: password = user name
            user.first_name, user.last_name = person.first_name, person.last_name
            user.is_superuser = user.is_staff = person.role == "management"
            user.save()
            user.groups.set([groups[person.role].group])
        employee, _created = Employee.objects.get_or_create(
            last_name=person.last_name,
            first_name=person.first_name,
            middle_name=person.middle_name,
            defaults={
                "kind": person.kind,
                "color": person.color,
                "user": user,
                "phone": f"+7916555{index:04d}",
                "email": f"{person.username or 'staff' + str(index)}@odonta.example",
                "hired_on": datetime.date(2019 + index % 5, 1 + index % 12, 1 + index % 27),
            },
        )
        employee.professions.set([professions[(person.kind, name)] for name in person.professions])
        employee.branches.set([by_letter[letter] for letter in person.branches])


# --- Seeder registry ------------------------------------------------------------------

Seeder = Callable[[Callable[[str], None]], None]
_seeders: list[tuple[int, str, Seeder]] = []


def register_seeder(order: int, name: str, seeder: Seeder) -> None:
    if all(existing != name for _o, existing, _s in _seeders):
        _seeders.append((order, name, seeder))


def seed_core(log: Callable[[str], None]) -> None:
    seed_references()
    branches = seed_organization()
    groups = ensure_rights_groups()
    seed_staff(branches, groups)
    log(
        f"core: {Branch.objects.count()} branches, {Chair.objects.count()} chairs, "
        f"{Employee.objects.count()} employees"
    )


register_seeder(0, "core", seed_core)


def seed_all(log: Callable[[str], None] = print) -> None:
    for _order, _name, seeder in sorted(_seeders, key=lambda s: s[0]):
        with transaction.atomic():
            seeder(log)
