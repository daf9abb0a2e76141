"""Scale data of the clinical record: dental charts and medical records for the visits the
calendar generated, and one patient with ten years of history (the chart bench opens it).

A share of the completed visits found something: one or two findings on teeth (a tooth
record each; a caries treated later is removed and replaced by a filling, so charts have
history) and a signed medical record of the visit with its diagnosis. Written with COPY.
"""

import datetime
import itertools
import json
import random
from collections.abc import Iterator

from django.db import transaction

from clinic import scale, teeth
from clinic.models import Employee, NumberSequence
from clinical.demo import HISTORY_TEMPLATES
from clinical.icd10 import load_icd10
from clinical.models import Diagnosis, DiagnosisCategory
from pricelist.models import Service

# The share of completed visits that leave a record on the chart and in the history.
RECORDED_SHARE = 0.25
LONG_HISTORY_YEARS = 10
LONG_HISTORY_VISITS = 60

# (ICD-10 code, state drawn, surfaces of a back tooth)
FINDINGS = [
    ("K02.1", "caries", "O"),
    ("K02.1", "caries", "MO"),
    ("K02.0", "caries", "V"),
    ("K04.0", "pulpitis", ""),
    ("K04.5", "periodontitis", ""),
    ("K08.1", "missing", ""),
    ("K03.6", "", ""),
]

TOOTH_COLUMNS = [
    "id", "patient_id", "tooth", "surfaces", "diagnosis_id", "state", "recorded_at",
    "recorded_by_id", "removed_at", "removed_by_id",
]  # fmt: skip
RECORD_COLUMNS = [
    "id", "patient_id", "appointment_id", "doctor_id", "recorded_on", "teeth", "version",
    "correction_reason", "signed_at", "signed_by_id", "created_at", "created_by_id",
    "complaints", "anamnesis", "objective", "local_status", "treatment", "recommendations",
]  # fmt: skip
RECORD_DIAGNOSIS_COLUMNS = ["id", "medicalrecord_id", "diagnosis_id"]
TABLES = [
    "clinical_toothrecord",
    "clinical_medicalrecord",
    "clinical_medicalrecord_diagnoses",
    "clinical_recommendation",
]


def generate_clinical(ctx: scale.ScaleContext) -> None:
    visits = ctx.shared["visits"]
    # The ICD-10 list of the data migration is gone after `seed_scale --reset` (emptying
    # the users cascades to the reference books, which name who deleted an entry).
    with transaction.atomic():
        load_icd10(DiagnosisCategory, Diagnosis)
    codes = {code for code, _state, _surfaces in FINDINGS}
    diagnosis_ids = dict(Diagnosis.objects.filter(code__in=codes).values_list("code", "pk"))
    findings = [(diagnosis_ids.get(code), state, s) for code, state, s in FINDINGS]
    user_of = dict(Employee.objects.filter(user__isnull=False).values_list("pk", "user_id"))
    texts = [
        [scale.text(sections.get(name, "")) for name in RECORD_COLUMNS[12:]]
        for _profession, _name, sections in HISTORY_TEMPLATES
    ]
    rng = ctx.rng("clinical")
    N = scale.NULL
    now_m = scale.epoch_minutes(ctx.now)
    tooth_rows: list[list] = []
    record_rows: list[str] = []
    link_rows: list[str] = []
    # (patient, visit, doctor, done, [(tooth, diagnosis)]): what the plans are made for.
    diagnosed: list[tuple[int, int | None, int, int, list[tuple[int, int]]]] = []
    ctx.shared["diagnosed"] = diagnosed

    def record(
        patient: int, visit: int | None, doctor: int, local_m: int, done_m: int, when: random.Random
    ) -> None:
        """One visit's findings on the chart and its signed medical record."""
        user = user_of.get(doctor)
        by = str(user) if user else N
        chosen = when.sample(teeth.PERMANENT_TEETH, 1 if when.random() < 0.7 else 2)
        diagnosis = None
        found: list[tuple[int, int]] = []
        for tooth in chosen:
            diagnosis, state, surfaces = when.choice(findings)
            if diagnosis:
                found.append((tooth, diagnosis))
            if surfaces and teeth.is_front(tooth):
                surfaces = surfaces.replace("O", "I")
            if diagnosis is None and not state:
                state = "caries"
            treated = state == "caries" and when.random() < 0.5
            removed_m = min(done_m + when.randint(1, 60) * 1440, now_m) if treated else None
            tooth_rows.append([patient, tooth, surfaces, diagnosis, state, done_m, by, None, N])
            if removed_m:
                # Treated since: the filling supersedes the caries (see _supersede).
                filling = [patient, tooth, surfaces, None, "filling", removed_m, by, None, N]
                tooth_rows.append(filling)
        pk = len(record_rows) + 1
        day = (scale.EPOCH + datetime.timedelta(minutes=local_m)).date().isoformat()
        signed = scale.stamp(done_m + 10)
        sections = "\t".join(when.choice(texts))
        record_rows.append(
            f"{pk}\t{patient}\t{visit if visit else N}\t{doctor}\t{day}\t"
            f"{','.join(map(str, sorted(chosen)))}\t1\t\t{signed}\t{by}\t{scale.stamp(done_m)}\t"
            f"{by}\t{sections}\n"
        )
        if diagnosis:
            link_rows.append(f"{len(link_rows) + 1}\t{pk}\t{diagnosis}\n")
        if found:
            diagnosed.append((patient, visit, doctor, done_m, found))

    completed = visits["completed"]
    for visit, status in enumerate(visits["status"], start=1):
        if status != completed or rng.random() >= RECORDED_SHARE:
            continue
        record(
            visits["patient"][visit - 1],
            visit,
            visits["doctor"][visit - 1],
            visits["local_start"][visit - 1],
            visits["changed"][visit - 1],
            rng,
        )
    _long_history(ctx, record, now_m)
    _supersede(tooth_rows)

    with scale.deferred_indexes(ctx, *TABLES[:3]), transaction.atomic():
        count = scale.copy_rows("clinical_toothrecord", TOOTH_COLUMNS, _tooth_lines(tooth_rows))
        ctx.say(f"clinical: {count:,} tooth records copied")
        count = scale.copy_rows("clinical_medicalrecord", RECORD_COLUMNS, iter(record_rows))
        ctx.say(f"clinical: {count:,} medical records copied")
        count = scale.copy_rows(
            "clinical_medicalrecord_diagnoses", RECORD_DIAGNOSIS_COLUMNS, iter(link_rows)
        )
        ctx.say(f"clinical: {count:,} record diagnoses copied; indexing")
    with transaction.atomic():
        for table in TABLES[:3]:
            scale.reset_sequence(table)


# --- Treatment plans and periodontal exams ----------------------------------------------

PLAN_SHARE = 0.05  # of the visits that found a diagnosis
PERIO_SHARE = 0.005  # of the completed visits
PLAN_COLUMNS = [
    "id", "patient_id", "number", "title", "doctor_id", "branch_id", "status", "created_at",
    "created_by_id", "approved_at", "approved_by_id", "closed_at",
]  # fmt: skip
STAGE_COLUMNS = ["id", "plan_id", "name", "position"]
LINE_COLUMNS = [
    "id", "plan_id", "stage_id", "service_id", "tooth", "quantity", "price", "diagnosis_id",
    "status", "done_at", "appointment_id", "position",
]  # fmt: skip
PERIO_COLUMNS = [
    "id", "patient_id", "appointment_id", "doctor_id", "examined_on", "note", "measurements",
    "missing", "created_at", "updated_at", "created_by_id",
]  # fmt: skip
PLAN_TABLES = [
    "clinical_treatmentplan",
    "clinical_planstage",
    "clinical_planline",
    "clinical_perioexam",
]


def generate_plans_and_perio(ctx: scale.ScaleContext) -> None:
    """A plan for a share of the visits that found a diagnosis (a line per diagnosed tooth,
    done if the plan is old), and periodontal exams for a share of the completed visits."""
    rng = ctx.rng("clinical-plans")
    N = scale.NULL
    now_m = scale.epoch_minutes(ctx.now)
    user_of = dict(Employee.objects.filter(user__isnull=False).values_list("pk", "user_id"))
    branch_of: dict[int, int] = {}
    for branch in ctx.shared["branches"]:
        for doctor in branch["doctors"]:
            branch_of.setdefault(doctor, branch["id"])
    services = list(
        Service.objects.filter(per_tooth=True).order_by("pk").values_list("pk", "price")[:12]
    )
    numbers: dict[int, int] = {}
    plans: list[str] = []
    stages: list[str] = []
    lines: list[str] = []
    for patient, _visit, doctor, done_m, found in ctx.shared["diagnosed"]:
        if not services or rng.random() >= PLAN_SHARE or doctor not in branch_of:
            continue
        numbers[patient] = number = numbers.get(patient, 0) + 1
        pk = len(plans) + 1
        age_days = (now_m - done_m) // 1440
        status = "completed" if age_days > 90 else "approved" if age_days > 7 else "draft"
        by = str(user_of[doctor]) if doctor in user_of else N
        approved = scale.stamp(done_m + 30) if status != "draft" else N
        closed_m = done_m + rng.randint(14, 80) * 1440 if status == "completed" else None
        plans.append(
            f"{pk}\t{patient}\t{number}\t\t{doctor}\t{branch_of[doctor]}\t{status}\t"
            f"{scale.stamp(done_m + 20)}\t{by}\t{approved}\t{by if approved != N else N}\t"
            f"{scale.stamp(closed_m) if closed_m else N}\n"
        )
        stages.append(f"{pk}\t{pk}\tЭтап 1\t1\n")
        for position, (tooth, diagnosis) in enumerate(found, start=1):
            service, price = rng.choice(services)
            done = scale.stamp(closed_m) if closed_m else N
            lines.append(
                f"{len(lines) + 1}\t{pk}\t{pk}\t{service}\t{tooth}\t1\t{price}\t{diagnosis}\t"
                f"{'done' if closed_m else 'planned'}\t{done}\t{N}\t{position}\n"
            )
    exams: list[str] = []
    visits = ctx.shared["visits"]
    for visit, status in enumerate(visits["status"], start=1):
        if status != visits["completed"] or rng.random() >= PERIO_SHARE:
            continue
        doctor = visits["doctor"][visit - 1]
        done_m = visits["changed"][visit - 1]
        day = (scale.EPOCH + datetime.timedelta(minutes=visits["local_start"][visit - 1])).date()
        by = str(user_of[doctor]) if doctor in user_of else N
        measurements, missing = _perio_measurements(rng)
        exams.append(
            f"{len(exams) + 1}\t{visits['patient'][visit - 1]}\t{visit}\t{doctor}\t"
            f"{day.isoformat()}\t\t{scale.text(measurements)}\t{missing}\t"
            f"{scale.stamp(done_m)}\t{scale.stamp(done_m)}\t{by}\n"
        )
    with transaction.atomic():
        for table, columns, rows in (
            ("clinical_treatmentplan", PLAN_COLUMNS, plans),
            ("clinical_planstage", STAGE_COLUMNS, stages),
            ("clinical_planline", LINE_COLUMNS, lines),
            ("clinical_perioexam", PERIO_COLUMNS, exams),
        ):
            count = scale.copy_rows(table, columns, iter(rows))
            ctx.say(f"clinical: {count:,} rows of {table} copied")
            scale.reset_sequence(table)
        # The plans' numbers go on from what was generated (clinic.numbering's counters).
        NumberSequence.objects.bulk_create(
            [NumberSequence(key=f"treatment-plan:{p}", value=n) for p, n in numbers.items()],
            batch_size=5000,
        )


def _perio_measurements(rng: random.Random) -> tuple[str, str]:
    """An exam of the permanent teeth as the periodontal chart stores it (JSON)."""
    missing = sorted(rng.sample(teeth.PERMANENT_TEETH, rng.choice([0, 0, 1, 2, 3])))
    rows = {}
    for tooth in teeth.PERMANENT_TEETH:
        if tooth in missing or tooth % 10 == 8:
            continue
        depth = [rng.choice((2, 2, 3, 3, 3, 4, 5)) for _ in range(6)]
        rows[str(tooth)] = {
            "pd": depth,
            "gm": [rng.choice((0, 0, 1, 2, -1)) for _ in range(6)],
            "bop": [d >= 4 and rng.random() < 0.6 for d in depth],
            "sup": [False] * 6,
            "plaque": [rng.random() < 0.3 for _ in range(6)],
            "mobility": rng.choice((0, 0, 0, 1)),
            "furcation": None,
        }
    return json.dumps(rows, separators=(",", ":")), json.dumps(missing)


def _supersede(rows: list[list]) -> None:
    """A finding on a tooth is removed when the next one on that tooth is recorded (the
    doctor charts what the tooth is now; the earlier state stays in the history)."""
    rows.sort(key=lambda row: (row[0], row[1], row[5]))
    for earlier, later in itertools.pairwise(rows):
        if earlier[:2] == later[:2]:
            earlier[7], earlier[8] = later[5], later[6]


def _tooth_lines(rows: list[list]) -> Iterator[str]:
    N = scale.NULL
    for pk, (patient, tooth, surfaces, diagnosis, state, at, by, removed, removed_by) in enumerate(
        rows, start=1
    ):
        yield (
            f"{pk}\t{patient}\t{tooth}\t{surfaces}\t{diagnosis if diagnosis else N}\t{state}\t"
            f"{scale.stamp(at)}\t{by}\t{scale.stamp(removed) if removed else N}\t{removed_by}\n"
        )


def _long_history(ctx: scale.ScaleContext, record, now_m: int) -> None:
    """The first patient of the biggest branch has come for ten years (the chart bench opens
    their card): records without visits, spread over the years."""
    branch = ctx.shared["branches"][0]
    patient = ctx.shared["patients_by_branch"][branch["id"]][0]
    doctors = branch["doctors"]
    rng = ctx.rng("clinical-long-history")
    span = LONG_HISTORY_YEARS * 365 * 1440
    for index in range(LONG_HISTORY_VISITS):
        done_m = now_m - span + index * span // LONG_HISTORY_VISITS + rng.randint(0, 1440)
        record(patient, None, rng.choice(doctors), done_m + 180, done_m, rng)
    ctx.shared["long_history_patient"] = patient


scale.register_generator(30, "clinical", generate_clinical, tables=TABLES)
scale.register_generator(31, "clinical-plans", generate_plans_and_perio, tables=PLAN_TABLES)
