"""Scale data of the patient card: cards with Russian names, unique valid mobile phones,
documents, families, portal accounts and the "card created" line of each timeline.

Surnames follow a skewed popularity (Ивановы are many, Смольяниновы few), so that a search
for a common name finds thousands of cards, as it would in a real network.
"""

import datetime
import itertools
from array import array
from collections.abc import Iterator

from django.db import transaction

from clinic import scale
from clinic.models import Gender, MarketingChannel, PatientGroup
from clinic.numbering import ensure_at_least
from patients.demo import (
    EKB_STREETS,
    FATHER_NAMES,
    FEMALE_FIRST,
    MALE_FIRST,
    MOSCOW_STREETS,
    SURNAMES,
    feminine,
    patronymic,
    valid_snils,
)
from patients.services import CARD_SEQUENCE

PATIENT_COLUMNS = [
    "id", "card_number", "last_name", "first_name", "middle_name", "phone", "email",
    "birth_date", "gender_id", "marketing_channel_id", "patient_group_id", "messaging_consent",
    "coordinator_id", "attending_doctor_id", "branch_id", "is_active", "document_type",
    "passport_series", "passport_number", "passport_issued_by", "passport_issued_on",
    "passport_department_code", "other_document", "citizenship", "snils", "inn", "oms_policy",
    "home_phone", "registration_address", "actual_address", "comment", "family_id",
    "last_activity_at", "returning_since", "created_at", "created_by_id", "deleted_at",
    "deleted_by_id", "updated_at",
]  # fmt: skip
EVENT_COLUMNS = [
    "id",
    "patient_id",
    "source_event_id",
    "name",
    "occurred_at",
    "actor_name",
    "payload",
]
# Mobile operators' codes (all valid Russian mobile ranges).
OPERATORS = ["912", "915", "916", "926", "903", "905", "977", "985", "999", "921", "950", "960"]
STREETS = MOSCOW_STREETS + EKB_STREETS + ["ул. Гагарина", "ул. Советская", "ул. Мира"]
COMMENTS = [
    "Боится стоматологов, нужна премедикация",
    "Аллергия на лидокаин",
    "Предпочитает вечернее время",
    "Пациент по ДМС",
    "Просит напоминать по SMS",
]
PATIENT_TABLES = ["patients_patient", "patients_family", "patients_portalaccount"]
EVENT_TABLE = "patients_patientevent"


def mobile_phone(number: int) -> str:
    """A unique valid Russian mobile for each ``number`` below 12 * 10**7."""
    operator = OPERATORS[number % len(OPERATORS)]
    # Multiplying by a number coprime with 10**7 spreads consecutive patients over the range.
    return f"+7{operator}{(number // len(OPERATORS) * 7_919 + 1_234_567) % 10_000_000:07d}"


def generate_patients(ctx: scale.ScaleContext) -> None:
    size = ctx.size
    rng = ctx.rng("patients")
    branches = ctx.shared["branches"]
    branch_weights = list(itertools.accumulate(len(b["chairs"]) for b in branches))
    genders = dict(Gender.objects.values_list("name", "pk"))
    female_id, male_id = genders["Женский"], genders["Мужской"]
    channels = list(MarketingChannel.objects.values_list("pk", flat=True))
    groups = list(PatientGroup.objects.values_list("pk", flat=True))
    coordinators = ctx.shared["coordinators"]
    surname_weights = list(itertools.accumulate(1 / (rank + 8) for rank in range(len(SURNAMES))))
    now_m = scale.epoch_minutes(ctx.now)
    history_days = size.days_back + 2 * 365  # some cards predate the visits we generate
    patients_by_branch: dict[int, array] = {b["id"]: array("q") for b in branches}
    created_at = array("q")
    families: list[str] = []
    portal: list[str] = []
    N = scale.NULL
    snils_taken: set[str] = set()

    def lines() -> Iterator[str]:
        family_left = 0
        surname = father = ""
        family_id = 0
        for index in range(size.patients):
            pk = index + 1
            if family_left == 0 and rng.random() < 0.05:
                family_left = rng.choice([2, 3, 3, 4])
                surname = rng.choices(SURNAMES, cum_weights=surname_weights)[0]
                father = rng.choice(FATHER_NAMES)
                family_id = len(families) + 1
                card = f"С-{family_id:05d}" if rng.random() < 0.6 else ""
                families.append(
                    f"{family_id}\tСемья {surname}\t{card}\t{scale.stamp(now_m - 1440 * 400)}\n"
                )
                member = 0
            if family_left:
                family_left -= 1
                member += 1
                last, own_father, fid = surname, father, str(family_id)
                child = member > 2
            else:
                last = rng.choices(SURNAMES, cum_weights=surname_weights)[0]
                own_father, fid, child = rng.choice(FATHER_NAMES), N, rng.random() < 0.12
            female = rng.random() < 0.56
            age = rng.randint(3, 17) if child else rng.randint(18, 88)
            birth = datetime.date(ctx.today.year - age, rng.randint(1, 12), rng.randint(1, 28))
            branch = branches[
                rng.choices(range(len(branches)), cum_weights=branch_weights)[0]
                if len(branches) > 1
                else 0
            ]
            patients_by_branch[branch["id"]].append(pk)
            adult = age >= 18
            passport = adult and rng.random() < 0.6
            street = rng.choice(STREETS)
            address = (
                f"{branch['city']}, {street}, д. {rng.randint(1, 150)}, кв. {rng.randint(1, 300)}"
            )
            created_m = now_m - rng.randint(0, history_days) * 1440 - rng.randint(0, 600)
            created_at.append(created_m)
            activity_m = min(now_m, created_m + rng.randint(0, 900) * 1440)
            deleted = rng.random() < 0.003
            home = (
                f"+7{branch['area_code']}{rng.randint(2_000_000, 3_999_999)}"
                if rng.random() < 0.08
                else ""
            )
            doctors = branch["doctors"]
            yield (
                "\t".join(
                    (
                        str(pk),
                        str(pk),
                        feminine(last) if female else last,
                        rng.choice(FEMALE_FIRST if female else MALE_FIRST),
                        patronymic(own_father, female),
                        mobile_phone(index),
                        f"patient{pk}@mail.example" if rng.random() < 0.5 else "",
                        birth.isoformat(),
                        str(female_id if female else male_id),
                        str(rng.choice(channels)) if rng.random() < 0.85 else N,
                        str(rng.choice(groups)) if rng.random() < 0.6 else N,
                        "t" if rng.random() < 0.9 else "f",
                        str(rng.choice(coordinators)) if rng.random() < 0.15 else N,
                        str(rng.choice(doctors)) if doctors and rng.random() < 0.8 else N,
                        str(branch["id"]),
                        "t" if rng.random() < 0.97 else "f",
                        "passport",
                        f"{rng.randint(1, 99):02d}{rng.randint(0, 25):02d}" if passport else "",
                        f"{rng.randint(0, 999_999):06d}" if passport else "",
                        "ГУ МВД России" if passport else "",
                        (birth + datetime.timedelta(days=20 * 365 + 30)).isoformat()
                        if passport and age > 21
                        else N,
                        "",
                        "",
                        "Россия",
                        valid_snils(rng, snils_taken) if adult and rng.random() < 0.3 else "",
                        "",
                        "",
                        home,
                        address,
                        address if rng.random() < 0.7 else "",
                        rng.choice(COMMENTS) if rng.random() < 0.03 else "",
                        fid,
                        scale.stamp(activity_m),
                        N,
                        scale.stamp(created_m),
                        N,
                        scale.stamp(now_m - rng.randint(1, 300) * 1440) if deleted else N,
                        N,
                        scale.stamp(created_m),  # updated_at: the card as it was made
                    )
                )
                + "\n"
            )
            if rng.random() < 0.02:
                portal.append(
                    f"{len(portal) + 1}\t{mobile_phone(index)}\tt\t"
                    f"{scale.stamp(created_m + 4320)}\t{N}\t{scale.stamp(created_m + 4320)}\t{pk}\n"
                )
            if (pk % 100_000) == 0:
                ctx.say(f"  patients: {pk:,}")

    def created_events() -> Iterator[str]:
        for pk, created_m in enumerate(created_at, start=1):
            moment = scale.stamp(created_m)
            yield f'{pk}\t{pk}\t0\tpatient.created\t{moment}\t\t{{"patient_id": {pk}}}\n'

    with scale.deferred_indexes(ctx, *PATIENT_TABLES, EVENT_TABLE):
        with transaction.atomic():
            count = scale.copy_rows("patients_patient", PATIENT_COLUMNS, lines())
            scale.copy_rows(
                "patients_family", ["id", "name", "card_number", "created_at"], families
            )
            scale.copy_rows(
                "patients_portalaccount",
                ["id", "login", "is_active", "activated_at", "deactivated_at", "updated_at",
                 "patient_id"],
                portal,
            )  # fmt: skip
            scale.copy_rows(EVENT_TABLE, EVENT_COLUMNS, created_events())
        ctx.say(f"patients: {count:,} cards, {len(families):,} families copied; indexing")
    with transaction.atomic():
        for table in [*PATIENT_TABLES, EVENT_TABLE]:
            scale.reset_sequence(table)
        ensure_at_least(CARD_SEQUENCE, size.patients)
    ctx.shared["next_event_id"] = size.patients + 1
    ctx.shared["patients_by_branch"] = patients_by_branch
    ctx.say(f"patients: {count:,} cards with their timelines")


scale.register_generator(10, "patients", generate_patients, tables=[*PATIENT_TABLES, EVENT_TABLE])
