"""Scale data of the core: the organisation, reference books, branches, chairs and staff.

Branches follow a real network's shape: two 20-chair flagships and smaller clinics across
Russia's time zones. Smaller sizes take the first branches of the list and shrink them in
proportion. Every doctor has a login (``doctor<n>``), every branch an administrator
(``registrar<n>``); all passwords are ``scale.SCALE_PASSWORD``, hashed once.
"""

import datetime
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction

from clinic import demo, scale
from clinic.models import (
    Branch,
    Chair,
    Employee,
    Organization,
    Profession,
    ProfessionKind,
    User,
)

EmployeeBranches = Employee.branches.through
EmployeeProfessions = Employee.professions.through
UserGroups = User.groups.through


@dataclass(frozen=True)
class BranchPlan:
    name: str
    city: str
    address: str
    zone: str
    chairs: int
    area_code: str  # of the city's landlines, for patients' home phones
    opens: datetime.time = datetime.time(9)
    closes: datetime.time = datetime.time(21)


EARLY = datetime.time(8)
NETWORK = [
    BranchPlan("Odonta на Тверской", "г. Москва", "ул. Тверская, д. 12", "Europe/Moscow", 20,
               "495", EARLY),
    BranchPlan("Odonta в Екатеринбурге", "г. Екатеринбург", "ул. Малышева, д. 51",
               "Asia/Yekaterinburg", 15, "343", EARLY),
    BranchPlan("Odonta на Невском", "г. Санкт-Петербург", "Невский пр-т, д. 88",
               "Europe/Moscow", 20, "812", EARLY),
    BranchPlan("Odonta в Новосибирске", "г. Новосибирск", "Красный пр-т, д. 25",
               "Asia/Novosibirsk", 12, "383", EARLY),
    BranchPlan("Odonta в Казани", "г. Казань", "ул. Баумана, д. 44", "Europe/Moscow", 12, "843",
               EARLY),
    BranchPlan("Odonta на Ленинском", "г. Москва", "Ленинский пр-т, д. 70", "Europe/Moscow", 10,
               "499"),
    BranchPlan("Odonta в Нижнем Новгороде", "г. Нижний Новгород", "ул. Большая Покровская, д. 18",
               "Europe/Moscow", 10, "831"),
    BranchPlan("Odonta в Самаре", "г. Самара", "ул. Ленинградская, д. 33", "Europe/Samara", 10,
               "846"),
    BranchPlan("Odonta в Краснодаре", "г. Краснодар", "ул. Красная, д. 120", "Europe/Moscow", 10,
               "861"),
    BranchPlan("Odonta в Ростове-на-Дону", "г. Ростов-на-Дону", "ул. Большая Садовая, д. 47",
               "Europe/Moscow", 10, "863"),
    BranchPlan("Odonta в Уфе", "г. Уфа", "пр-т Октября, д. 10", "Asia/Yekaterinburg", 8, "347"),
    BranchPlan("Odonta в Перми", "г. Пермь", "ул. Ленина, д. 58", "Asia/Yekaterinburg", 8, "342"),
    BranchPlan("Odonta в Челябинске", "г. Челябинск", "пр-т Ленина, д. 35", "Asia/Yekaterinburg",
               8, "351"),
    BranchPlan("Odonta в Омске", "г. Омск", "ул. Ленина, д. 14", "Asia/Omsk", 8, "381"),
    BranchPlan("Odonta в Красноярске", "г. Красноярск", "пр-т Мира, д. 91", "Asia/Krasnoyarsk", 8,
               "391"),
    BranchPlan("Odonta в Воронеже", "г. Воронеж", "пр-т Революции, д. 30", "Europe/Moscow", 7,
               "473"),
    BranchPlan("Odonta в Тюмени", "г. Тюмень", "ул. Республики, д. 61", "Asia/Yekaterinburg", 7,
               "345"),
    BranchPlan("Odonta на Васильевском", "г. Санкт-Петербург", "Средний пр-т В.О., д. 36",
               "Europe/Moscow", 7, "812"),
    BranchPlan("Odonta в Калининграде", "г. Калининград", "Ленинский пр-т, д. 83",
               "Europe/Kaliningrad", 5, "401"),
    BranchPlan("Odonta во Владивостоке", "г. Владивосток", "ул. Светланская, д. 29",
               "Asia/Vladivostok", 5, "423"),
]  # fmt: skip

# Doctors by profession (weights), and pairs that one doctor often holds together.
DOCTOR_MIX = [
    ("Терапевт", 30),
    ("Хирург", 15),
    ("Ортопед", 15),
    ("Ортодонт", 10),
    ("Гигиенист", 10),
    ("Детский стоматолог", 10),
    ("Пародонтолог", 5),
    ("Рентгенолог", 5),
]
SECOND_PROFESSION = {"Пародонтолог": "Гигиенист", "Хирург": "Ортопед", "Терапевт": "Гигиенист"}
# Staff names (patients have their own, richer lists in patients/demo.py).
STAFF_SURNAMES = [
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Борисов",
    "Романов",
    "Сергеев",
    "Кузьмин",
    "Фролов",
    "Гусев",
    "Максимов",
    "Поляков",
    "Сорокин",
    "Белов",
    "Антонов",
    "Тарасов",
    "Жуков",
    "Баранов",
    "Филиппов",
    "Комаров",
    "Давыдов",
]
STAFF_FEMALE = [
    "Анна",
    "Мария",
    "Елена",
    "Ольга",
    "Наталья",
    "Екатерина",
    "Татьяна",
    "Ирина",
    "Светлана",
    "Юлия",
    "Анастасия",
    "Дарья",
    "Марина",
    "Ксения",
    "Алина",
]
STAFF_MALE = [
    "Александр",
    "Дмитрий",
    "Максим",
    "Сергей",
    "Андрей",
    "Алексей",
    "Артём",
    "Илья",
    "Кирилл",
    "Михаил",
    "Роман",
    "Егор",
    "Иван",
    "Денис",
    "Павел",
    "Олег",
]
STAFF_PATRONYMICS = [
    ("Александрович", "Александровна"),
    ("Сергеевич", "Сергеевна"),
    ("Андреевич", "Андреевна"),
    ("Михайлович", "Михайловна"),
    ("Игоревич", "Игоревна"),
    ("Владимирович", "Владимировна"),
    ("Иванович", "Ивановна"),
    ("Петрович", "Петровна"),
    ("Олегович", "Олеговна"),
]
COLORS = [
    "#2e86de", "#10ac84", "#ee5253", "#8854d0", "#fa8231", "#0fb9b1", "#4b6584", "#eb3b5a",
    "#20bf6b", "#f7b731", "#3867d6", "#a55eea", "#26de81", "#fd9644", "#45aaf2", "#778ca3",
]  # fmt: skip


def apportion(total: int, weights: list[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainder), each at least one."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [max(1, int(share)) for share in shares]
    order = sorted(range(len(weights)), key=lambda i: shares[i] - int(shares[i]), reverse=True)
    index = 0
    while sum(counts) < total:
        counts[order[index % len(order)]] += 1
        index += 1
    while sum(counts) > total:
        largest = max(range(len(counts)), key=lambda i: counts[i])
        counts[largest] -= 1
    return counts


def seed_organization() -> None:
    Organization.objects.update_or_create(
        pk=1,
        defaults={
            "name": "Одонта",
            "legal_name": "ООО «Одонта»",
            "inn": "7707083893",
            "kpp": "770701001",
            "ogrn": "1027700132195",
            "legal_address": "125009, г. Москва, ул. Тверская, д. 12, стр. 1",
            "phone": "+74951234567",
            "email": "info@odonta.example",
            "director": "Орлов В. Г.",
            "currency": "RUB",
            "time_zone": "Europe/Moscow",
        },
    )
    Organization.forget_cached()


@transaction.atomic
def generate_core(ctx: scale.ScaleContext) -> None:
    size = ctx.size
    rng = ctx.rng("core")
    seed_organization()
    demo.seed_references()
    groups = demo.ensure_rights_groups()
    plans = NETWORK[: size.branches]
    chair_counts = apportion(size.chairs, [plan.chairs for plan in plans])
    doctor_counts = apportion(size.doctors, chair_counts)
    branches = Branch.objects.bulk_create(
        Branch(
            name=plan.name,
            address=f"{plan.city}, {plan.address}",
            phone=f"+7{plan.area_code}{2_000_000 + number * 1_111:07d}",
            time_zone=plan.zone,
            opens_at=plan.opens,
            closes_at=plan.closes,
            position=number,
        )
        for number, plan in enumerate(plans, start=1)
    )
    chairs = Chair.objects.bulk_create(
        Chair(branch=branch, name=f"Кресло {number}", position=number)
        for branch, count in zip(branches, chair_counts, strict=True)
        for number in range(1, count + 1)
    )
    password = make_password(scale.SCALE_PASSWORD)
    professions = {(p.kind, p.name): p for p in Profession.objects.all()}

    def person(female: bool) -> tuple[str, str, str]:
        surname = rng.choice(STAFF_SURNAMES)
        first = rng.choice(STAFF_FEMALE if female else STAFF_MALE)
        male_patronymic, female_patronymic = rng.choice(STAFF_PATRONYMICS)
        return (
            surname + "а" if female else surname,
            first,
            female_patronymic if female else male_patronymic,
        )

    # (user or None, employee, rights group role, branch indexes, profession names)
    people: list[tuple[User | None, Employee, str, list[int], list[str]]] = []
    number = 0

    def add(role: str, kind: str, username: str, branch_indexes: list[int], names: list[str]):
        nonlocal number
        number += 1
        female = rng.random() < 0.6
        last, first, middle = person(female)
        user = None
        if username:
            user = User(
                username=username,
                password=password,
                first_name=first,
                last_name=last,
                is_superuser=role == "management",
                is_staff=role == "management",
                date_joined=ctx.now,
            )
        employee = Employee(
            kind=kind,
            last_name=last,
            first_name=first,
            middle_name=middle,
            phone=f"+7916{4_000_000 + number:07d}",
            email=f"{username or f'staff{number}'}@odonta.example",
            birth_date=datetime.date(
                rng.randint(1960, 1998), rng.randint(1, 12), rng.randint(1, 28)
            ),
            hired_on=ctx.today - datetime.timedelta(days=rng.randint(30, 12 * 365)),
            color=COLORS[number % len(COLORS)],
        )
        people.append((user, employee, role, branch_indexes, names))

    everywhere = list(range(len(branches)))
    add("management", ProfessionKind.STAFF, "admin", everywhere, ["Управляющий"])
    for index in range(max(1, len(branches) // 10)):
        add("accountant", ProfessionKind.STAFF, f"accountant{index + 1}", everywhere, ["Бухгалтер"])
    for index in range(max(1, len(branches) // 5)):
        add(
            "coordinator", ProfessionKind.STAFF, f"coordinator{index + 1}", everywhere,
            ["Координатор"],
        )  # fmt: skip
    mix_names = [name for name, _weight in DOCTOR_MIX]
    mix_weights = [weight for _name, weight in DOCTOR_MIX]
    doctor_number = 0
    for index, (chair_count, doctor_count) in enumerate(
        zip(chair_counts, doctor_counts, strict=True)
    ):
        for admin in range(max(1, chair_count // 5)):
            username = f"registrar{index + 1}" + (f"-{admin + 1}" if admin else "")
            add("registrar", ProfessionKind.STAFF, username, [index], ["Администратор"])
        for _assistant in range(chair_count // 2):
            add("", ProfessionKind.STAFF, "", [index], ["Ассистент стоматолога"])
        for _doctor in range(doctor_count):
            doctor_number += 1
            main = rng.choices(mix_names, mix_weights)[0]
            names = [main]
            if main in SECOND_PROFESSION and rng.random() < 0.2:
                names.append(SECOND_PROFESSION[main])
            add("doctor", ProfessionKind.DOCTOR, f"doctor{doctor_number}", [index], names)

    users = User.objects.bulk_create(user for user, *_rest in people if user is not None)
    by_username = {user.username: user for user in users}
    for user, employee, *_rest in people:
        if user is not None:
            employee.user = by_username[user.username]
    employees = Employee.objects.bulk_create(employee for _user, employee, *_rest in people)
    UserGroups.objects.bulk_create(
        UserGroups(user_id=employee.user_id, group_id=groups[role].group_id)
        for (_user, _e, role, _b, _n), employee in zip(people, employees, strict=True)
        if employee.user_id
    )
    EmployeeBranches.objects.bulk_create(
        EmployeeBranches(employee_id=employee.pk, branch_id=branches[i].pk)
        for (_user, _e, _role, indexes, _n), employee in zip(people, employees, strict=True)
        for i in indexes
    )
    EmployeeProfessions.objects.bulk_create(
        EmployeeProfessions(employee_id=employee.pk, profession_id=professions[(kind, name)].pk)
        for (_user, _e, _role, _b, names), employee in zip(people, employees, strict=True)
        for kind in [employee.kind]
        for name in names
    )

    registrars: dict[int, int] = {}
    doctors_by_branch: dict[int, list[int]] = {b.pk: [] for b in branches}
    doctor_professions: dict[int, list[int]] = {}
    coordinators: list[int] = []
    for (_user, _employee, role, indexes, names), saved in zip(people, employees, strict=True):
        branch_id = branches[indexes[0]].pk
        if role == "registrar" and saved.user_id is not None:
            registrars.setdefault(branch_id, saved.user_id)
        elif role == "doctor":
            doctors_by_branch[branch_id].append(saved.pk)
            doctor_professions[saved.pk] = [
                professions[(ProfessionKind.DOCTOR, name)].pk for name in names
            ]
        elif role == "coordinator":
            coordinators.append(saved.pk)
    ctx.shared.update(
        branches=[
            {
                "id": branch.pk,
                "zone": plan.zone,
                "opens": plan.opens,
                "closes": plan.closes,
                "area_code": plan.area_code,
                "city": plan.city,
                "chairs": [c.pk for c in chairs if c.branch_id == branch.pk],
                "doctors": doctors_by_branch[branch.pk],
                "registrar_user": registrars[branch.pk],
            }
            for branch, plan in zip(branches, plans, strict=True)
        ],
        doctor_professions=doctor_professions,
        coordinators=coordinators,
    )
    ctx.say(
        f"core: {len(branches)} branches, {len(chairs)} chairs, {len(employees)} employees "
        f"({sum(doctor_counts)} doctors), {len(users)} logins"
    )


scale.register_generator(
    0,
    "core",
    generate_core,
    tables=[
        # Emptying users cascades to every table that points at them (nearly all).
        "clinic_user",
        "clinic_branch",
        "clinic_employee",
        "clinic_auditentry",
        "clinic_outboxevent",
        "clinic_numbersequence",
        "django_session",
    ],
)
