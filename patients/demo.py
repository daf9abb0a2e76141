"""500 realistic demo patients: Russian names, valid mobile numbers, families, channels."""

import datetime
import random

from django.utils import timezone

from clinic.models import Branch, Employee, Gender, MarketingChannel, PatientGroup, ProfessionKind
from clinic.numbering import ensure_at_least
from clinic.validators import snils_check_digits
from patients.models import (
    Family,
    LegalRepresentative,
    Patient,
    PatientEvent,
    PortalAccount,
    RepresentativeRelation,
)
from patients.services import CARD_SEQUENCE

MALE_FIRST = [
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
    "Никита",
    "Матвей",
    "Роман",
    "Егор",
    "Арсений",
    "Иван",
    "Денис",
    "Евгений",
    "Даниил",
    "Тимофей",
    "Владислав",
    "Игорь",
    "Павел",
    "Николай",
    "Олег",
    "Виктор",
    "Юрий",
]
FEMALE_FIRST = [
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
    "Полина",
    "Виктория",
    "Ксения",
    "Алина",
    "Марина",
    "Вероника",
    "Софья",
    "Алёна",
    "Людмила",
    "Галина",
    "Валентина",
    "Кристина",
    "Надежда",
]
FATHER_NAMES = [
    "Александр",
    "Дмитрий",
    "Сергей",
    "Андрей",
    "Алексей",
    "Михаил",
    "Иван",
    "Николай",
    "Владимир",
    "Виктор",
    "Юрий",
    "Олег",
    "Игорь",
    "Павел",
    "Евгений",
    "Анатолий",
    "Геннадий",
]
SURNAMES = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
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
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьёв",
    "Сергеев",
    "Кузьмин",
    "Фролов",
    "Александров",
    "Дмитриев",
    "Королёв",
    "Гусев",
    "Киселёв",
    "Ильин",
    "Максимов",
    "Поляков",
    "Сорокин",
    "Виноградов",
    "Ковалёв",
    "Белов",
    "Медведев",
    "Антонов",
    "Тарасов",
    "Жуков",
    "Баранов",
    "Филиппов",
    "Комаров",
    "Давыдов",
    "Беляев",
    "Герасимов",
    "Богданов",
    "Осипов",
    "Сидоров",
    "Матвеев",
    "Титов",
    "Марков",
    "Миронов",
    "Крылов",
    "Куликов",
    "Карпов",
    "Власов",
    "Мельников",
    "Денисов",
    "Гаврилов",
    "Тихонов",
    "Казаков",
    "Афанасьев",
    "Данилов",
    "Савельев",
    "Тимофеев",
    "Фомин",
    "Чернов",
    "Абрамов",
    "Мартынов",
    "Ефимов",
    "Федотов",
    "Щербаков",
    "Назаров",
    "Калинин",
    "Исаев",
    "Чернышёв",
    "Быков",
    "Маслов",
    "Родионов",
    "Коновалов",
    "Лазарев",
    "Воронин",
    "Климов",
    "Филатов",
    "Пономарёв",
    "Голубев",
    "Кудрявцев",
    "Прохоров",
    "Наумов",
    "Потапов",
    "Журавлёв",
    "Овчинников",
    "Трофимов",
    "Леонов",
    "Соболев",
    "Ермаков",
    "Колесников",
    "Гончаров",
    "Емельянов",
    "Никифоров",
    "Грачёв",
    "Котов",
    "Гришин",
    "Ефремов",
    "Архипов",
    "Громов",
    "Кириллов",
    "Малышев",
    "Панов",
    "Моисеев",
    "Румянцев",
    "Акимов",
    "Кондратьев",
    "Бирюков",
    "Горбунов",
    "Анисимов",
    "Еремин",
    "Тихомиров",
    "Галкин",
    "Лукьянов",
    "Михеев",
    "Скворцов",
    "Юдин",
    "Белоусов",
    "Нестеров",
    "Симонов",
    "Прокофьев",
    "Харитонов",
    "Князев",
    "Цветков",
    "Левин",
    "Митрофанов",
    "Воронов",
    "Аксёнов",
    "Софронов",
    "Мальцев",
    "Логинов",
    "Горшков",
    "Савин",
    "Краснов",
    "Майоров",
    "Демидов",
    "Елисеев",
    "Рыбаков",
    "Сафонов",
    "Плотников",
    "Демин",
    "Хохлов",
    "Фадеев",
    "Молчанов",
    "Игнатов",
    "Литвинов",
    "Ершов",
    "Ушаков",
    "Дементьев",
    "Рябов",
    "Мухин",
    "Калашников",
    "Леонтьев",
    "Лобанов",
    "Кузин",
    "Корнеев",
    "Евдокимов",
    "Бородин",
    "Платонов",
    "Некрасов",
    "Балашов",
    "Бобров",
    "Жданов",
    "Блинов",
    "Игнатьев",
    "Коротков",
    "Муравьёв",
    "Крюков",
    "Беляков",
    "Богомолов",
    "Дроздов",
    "Лавров",
    "Зуев",
    "Петухов",
    "Ларин",
    "Никулин",
    "Серов",
    "Терентьев",
    "Зотов",
    "Устинов",
    "Фокин",
    "Самойлов",
    "Константинов",
    "Сахаров",
    "Шишкин",
    "Самсонов",
    "Черкасов",
    "Чистяков",
    "Носов",
    "Спиридонов",
    "Карасёв",
    "Авдеев",
    "Воронцов",
    "Зверев",
    "Владимиров",
    "Селезнёв",
    "Нечаев",
    "Кудряшов",
    "Седов",
    "Фирсов",
    "Андрианов",
    "Панин",
    "Головин",
    "Терехов",
    "Ульянов",
    "Шестаков",
    "Агеев",
    "Никонов",
    "Селиверстов",
    "Бажанов",
    "Гордеев",
    "Рогов",
    "Голованов",
    "Смольянинов",
    "Шаров",
]
MOSCOW_STREETS = [
    "ул. Тверская",
    "Ленинский пр-т",
    "ул. Арбат",
    "пр-т Мира",
    "ул. Профсоюзная",
    "Кутузовский пр-т",
    "ул. Новый Арбат",
    "ул. Большая Якиманка",
    "Варшавское ш.",
]
EKB_STREETS = [
    "ул. Малышева",
    "ул. Ленина",
    "ул. 8 Марта",
    "ул. Куйбышева",
    "ул. Радищева",
    "пр-т Космонавтов",
    "ул. Белинского",
    "ул. Вайнера",
]


def feminine(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith("ский"):
        return surname[:-2] + "ая"
    return surname


def patronymic(father: str, female: bool) -> str:
    stems = {"Никита": "Никит", "Илья": "Иль"}
    if father.endswith("й"):
        base = father[:-1] + ("евна" if female else "евич")
    elif father in stems:
        base = stems[father] + ("ична" if female else "ич")
    else:
        base = father + ("овна" if female else "ович")
    return base


def valid_snils(rng: random.Random, taken: set[str]) -> str:
    """A SNILS with the right check number that is not in ``taken`` (then it is): two cards
    never share one."""
    while True:
        first_nine = f"{rng.randint(2_000_000, 999_999_999):09d}"
        snils = first_nine + snils_check_digits(first_nine)
        if snils not in taken:
            taken.add(snils)
            return snils


def seed_representatives(
    patients: list[Patient], family_plan: list[tuple[int, int]], *, today: datetime.date
) -> None:
    """A family's children are signed for by its first adult (a contract or a consent
    printed for a child names them)."""
    representatives = []
    for first, size in family_plan:
        members = patients[first : first + size]
        parent = members[0]
        for child in members[1:]:
            if child.birth_date is None or (today - child.birth_date).days >= 18 * 365:
                continue
            female = parent.gender is not None and parent.gender.name == "Женский"
            representatives.append(
                LegalRepresentative(
                    patient=child,
                    relation=RepresentativeRelation.MOTHER
                    if female
                    else RepresentativeRelation.FATHER,
                    last_name=parent.last_name,
                    first_name=parent.first_name,
                    middle_name=parent.middle_name,
                    birth_date=parent.birth_date,
                    phone=parent.phone,
                    address=parent.registration_address,
                    passport_series=parent.passport_series,
                    passport_number=parent.passport_number,
                )
            )
    LegalRepresentative.objects.bulk_create(representatives)


def seed_patients(log, count: int = 500, seed: int = 2026) -> None:
    if Patient.all_objects.exists():
        log("patients: already there")
        return
    rng = random.Random(seed)
    branches = list(Branch.objects.order_by("position"))
    genders = {g.name: g for g in Gender.objects.all()}
    channels = list(MarketingChannel.objects.all())
    groups = list(PatientGroup.objects.all())
    doctors = list(Employee.objects.filter(kind=ProfessionKind.DOCTOR).prefetch_related("branches"))
    coordinators = list(Employee.objects.filter(professions__name="Координатор"))
    now = timezone.now()
    used_phones: set[str] = set()
    snils_taken: set[str] = set()
    patients: list[Patient] = []
    family_plan: list[tuple[int, int]] = []  # (first index, size)
    index = 0
    while index < count:
        size = rng.choice([2, 3, 3, 4]) if rng.random() < 0.16 and index + 4 < count else 1
        surname = rng.choice(SURNAMES)
        father = rng.choice(FATHER_NAMES)
        for member in range(size):
            female = rng.random() < 0.56
            age = rng.randint(4, 17) if member >= 2 else rng.randint(18, 82)
            birth = datetime.date(now.year - age, rng.randint(1, 12), rng.randint(1, 28))
            phone = ""
            while not phone or phone in used_phones:
                operator = rng.choice(["12", "15", "16", "26", "03", "05", "77", "85", "99"])
                phone = f"+79{operator}{rng.randint(0, 9_999_999):07d}"
            used_phones.add(phone)
            branch = branches[0] if rng.random() < 0.65 or len(branches) == 1 else branches[1]
            street = rng.choice(MOSCOW_STREETS if branch == branches[0] else EKB_STREETS)
            city = "г. Москва" if branch == branches[0] else "г. Екатеринбург"
            address = f"{city}, {street}, д. {rng.randint(1, 120)}, кв. {rng.randint(1, 300)}"
            local_doctors = [d for d in doctors if branch in d.branches.all()] or doctors
            created = now - datetime.timedelta(
                days=rng.randint(0, 3 * 365), hours=rng.randint(0, 10)
            )
            patients.append(
                Patient(
                    last_name=feminine(surname) if female else surname,
                    first_name=rng.choice(FEMALE_FIRST if female else MALE_FIRST),
                    middle_name=patronymic(father if member else rng.choice(FATHER_NAMES), female),
                    phone=phone,
                    email=f"patient{index + member + 1}@mail.example"
                    if rng.random() < 0.55
                    else "",
                    birth_date=birth,
                    gender=genders.get("Женский" if female else "Мужской"),
                    marketing_channel=rng.choice(channels)
                    if channels and rng.random() < 0.85
                    else None,
                    patient_group=rng.choice(groups) if groups and rng.random() < 0.7 else None,
                    messaging_consent=rng.random() < 0.9,
                    coordinator=rng.choice(coordinators)
                    if coordinators and rng.random() < 0.25
                    else None,
                    attending_doctor=rng.choice(local_doctors)
                    if local_doctors and rng.random() < 0.8
                    else None,
                    branch=branch,
                    snils=valid_snils(rng, snils_taken) if rng.random() < 0.4 and age >= 18 else "",
                    passport_series=f"{rng.randint(1, 99):02d}{rng.randint(0, 25):02d}"
                    if age >= 18 and rng.random() < 0.5
                    else "",
                    passport_number=f"{rng.randint(0, 999_999):06d}" if age >= 18 else "",
                    registration_address=address,
                    actual_address=address if rng.random() < 0.7 else "",
                    created_at=created,
                    last_activity_at=created + datetime.timedelta(days=rng.randint(0, 200)),
                    card_number=index + member + 1,
                )
            )
            if not patients[-1].passport_series:
                patients[-1].passport_number = ""
        if size > 1:
            family_plan.append((index, size))
        index += size
    patients = patients[:count]
    Patient.objects.bulk_create(patients, batch_size=500)
    ensure_at_least(CARD_SEQUENCE, len(patients))
    for first, size in family_plan:
        members = patients[first : first + size]
        if len(members) < 2:
            continue
        family = Family.objects.create(
            name=f"Семья {members[0].last_name.rstrip('а')}",
            card_number=f"С-{first + 1:04d}" if rng.random() < 0.6 else "",
        )
        Patient.objects.filter(pk__in=[m.pk for m in members]).update(family=family)
    seed_representatives(patients, family_plan, today=now.date())
    PatientEvent.objects.bulk_create(
        [
            PatientEvent(
                patient=p,
                source_event_id=0,
                name="patient.created",
                occurred_at=p.created_at,
                payload={"patient_id": p.pk},
            )
            for p in patients
        ],
        batch_size=1000,
    )
    for patient in rng.sample(patients, k=min(40, len(patients))):
        PortalAccount.objects.create(
            patient=patient,
            login=patient.phone,
            activated_at=patient.created_at + datetime.timedelta(days=3),
        )
    log(f"patients: {len(patients)} cards, {Family.objects.count()} families")
