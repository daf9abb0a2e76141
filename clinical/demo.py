"""Demo charts: about a third of the demo patients have findings on their teeth, some of
them corrected since (removed records), so the chart on a past date differs from today's."""

import datetime
import random

from django.utils import timezone

from clinic.models import Employee, ProfessionKind
from clinical import teeth
from clinical.models import Diagnosis, ToothRecord, ToothState
from patients.models import Patient

# (ICD-10 code, state drawn, surfaces)
FINDINGS = [
    ("K02.1", ToothState.CARIES, "O"),
    ("K02.0", ToothState.CARIES, "V"),
    ("K02.1", ToothState.CARIES, "MO"),
    ("K04.0", ToothState.PULPITIS, ""),
    ("K04.5", ToothState.PERIODONTITIS, ""),
    ("K08.1", ToothState.MISSING, ""),
    ("K03.0", ToothState.HEALTHY, ""),
    ("", ToothState.FILLING, "OD"),
    ("", ToothState.CROWN, ""),
    ("", ToothState.IMPLANT, ""),
    ("", ToothState.ROOT, ""),
]


def seed_charts(log, share: float = 0.35) -> None:
    rng = random.Random(10)
    diagnoses = {d.code: d for d in Diagnosis.objects.filter(code__in=[f[0] for f in FINDINGS])}
    doctors = list(
        Employee.objects.filter(professions__kind=ProfessionKind.DOCTOR, user__isnull=False)
        .values_list("user_id", flat=True)
        .distinct()
    )
    now = timezone.now()
    rows = []
    patients = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    for patient_id in rng.sample(patients, int(len(patients) * share)):
        for tooth in rng.sample(teeth.PERMANENT_TEETH, rng.randint(1, 5)):
            code, state, surfaces = rng.choice(FINDINGS)
            if surfaces and teeth.is_front(tooth):
                surfaces = surfaces.replace("O", "I")
            recorded = now - datetime.timedelta(days=rng.randint(30, 700))
            # One finding in four was treated since: removed, and the tooth now has a filling.
            treated = state == ToothState.CARIES and rng.random() < 0.25
            removed = recorded + datetime.timedelta(days=rng.randint(1, 25)) if treated else None
            by = rng.choice(doctors) if doctors else None
            rows.append(
                ToothRecord(
                    patient_id=patient_id,
                    tooth=tooth,
                    surfaces=surfaces,
                    diagnosis=diagnoses.get(code),
                    state=state,
                    recorded_at=recorded,
                    recorded_by_id=by,
                    removed_at=removed,
                    removed_by_id=by if removed else None,
                )
            )
            if removed:
                rows.append(
                    ToothRecord(
                        patient_id=patient_id,
                        tooth=tooth,
                        surfaces=surfaces,
                        state=ToothState.FILLING,
                        recorded_at=removed,
                        recorded_by_id=by,
                    )
                )
    ToothRecord.objects.bulk_create(rows, batch_size=1000)
    log(f"clinical: {len(rows)} tooth records")


# (profession, template name, {section: text})
HISTORY_TEMPLATES = [
    (
        "Терапевт",
        "Кариес дентина",
        {
            "complaints": "Жалобы на кратковременную боль от сладкого и холодного.",
            "anamnesis": "Боль появилась около месяца назад, ранее не лечен.",
            "objective": (
                "Кариозная полость в пределах дентина, зондирование болезненно "
                "по эмалево-дентинной границе."
            ),
            "local_status": "Слизистая бледно-розовая, перкуссия безболезненна.",
            "treatment": (
                "Анестезия, препарирование, медикаментозная обработка, "
                "пломба из светоотверждаемого композита."
            ),
            "recommendations": "Не принимать пищу 2 часа.\nЧистка зубов дважды в день.",
        },
    ),
    (
        "Хирург",
        "Удаление зуба",
        {
            "complaints": "Жалобы на боль при накусывании.",
            "anamnesis": "Зуб ранее лечен, разрушен.",
            "objective": "Коронка разрушена более чем на 2/3, перкуссия болезненна.",
            "local_status": "Слизистая в области зуба гиперемирована.",
            "treatment": "Анестезия, удаление зуба, гемостаз.",
            "recommendations": "Не полоскать рот сутки.\nХолод на щёку 20 минут.",
        },
    ),
    (
        "Ортопед",
        "Протезирование коронкой",
        {
            "complaints": "Жалобы на эстетический дефект, разрушение коронки зуба.",
            "objective": "Коронка зуба разрушена, корень устойчив, каналы запломбированы.",
            "treatment": "Препарирование под коронку, снятие оттиска, временная коронка.",
            "recommendations": "Избегать твёрдой пищи на временной коронке.",
        },
    ),
    (
        "Ортодонт",
        "Осмотр при аномалии прикуса",
        {
            "complaints": "Жалобы на неровное положение зубов.",
            "anamnesis": "Ранее ортодонтическое лечение не проводилось.",
            "objective": "Скученность зубов во фронтальном отделе, глубокое резцовое перекрытие.",
            "treatment": "Диагностические модели, ОПТГ, ТРГ, план лечения.",
            "recommendations": "Профессиональная гигиена перед установкой брекет-системы.",
        },
    ),
]


def seed_medical_history(log) -> None:
    """The templates for four professions and a few records (one signed, one corrected)."""
    from clinic.models import Profession, User
    from clinical import records
    from clinical.models import MedicalHistoryTemplate

    professions = {p.name: p for p in Profession.objects.filter(kind=ProfessionKind.DOCTOR)}
    made = [
        MedicalHistoryTemplate(profession=professions[profession], name=name, **texts)
        for profession, name, texts in HISTORY_TEMPLATES
        if profession in professions
    ]
    MedicalHistoryTemplate.objects.bulk_create(made)
    doctor = (
        Employee.objects.filter(kind=ProfessionKind.DOCTOR, user__username="doctor").first()
        or Employee.objects.filter(kind=ProfessionKind.DOCTOR).first()
    )
    caries = Diagnosis.objects.filter(code="K02.1").first()
    signer = User.objects.filter(is_superuser=True).order_by("pk").first()
    count = 0
    if doctor is not None and caries is not None and made:
        texts = {k: v for k, v in HISTORY_TEMPLATES[0][2].items()}
        today = timezone.localdate()
        for number, patient in enumerate(Patient.objects.order_by("pk")[:5]):
            record = records.record_create(
                patient=patient,
                data={
                    "doctor": doctor,
                    "appointment": None,
                    "recorded_on": today - datetime.timedelta(days=30 + number),
                    "teeth": [36],
                    **texts,
                },
                diagnoses=[caries],
                by=None,
            )
            count += 1
            if number % 2 == 0 and signer is not None:
                record = records.record_sign(record=record, by=signer)
            if number == 0 and signer is not None:
                records.record_correct(
                    record=record,
                    data={**_data(record), "treatment": texts["treatment"] + " Полировка."},
                    diagnoses=[caries],
                    reason="Уточнено лечение",
                    by=signer,
                )
                count += 1
    log(f"clinical: {len(made)} medical history templates, {count} medical records")


def _data(record) -> dict:
    from clinical.models import RecordSection

    return {
        "doctor": record.doctor,
        "appointment": record.appointment,
        "recorded_on": record.recorded_on,
        "teeth": record.teeth_list,
        **{name: getattr(record, name) for name in RecordSection.values},
    }


def seed_perio(log, share: float = 0.15) -> None:
    """Two periodontal exams, half a year apart, for a share of the demo patients: the later
    one a little worse on some sites, so the comparison has something to show."""
    from clinical import perio
    from clinical.models import PerioExam

    rng = random.Random(12)
    doctors = list(Employee.objects.filter(kind=ProfessionKind.DOCTOR).order_by("pk")[:10])
    if not doctors:
        return
    missing_by_patient: dict[int, set[int]] = {}
    for patient_id, tooth in (
        ToothRecord.objects.current()
        .filter(state=ToothState.MISSING)
        .values_list("patient_id", "tooth")
    ):
        missing_by_patient.setdefault(patient_id, set()).add(tooth)
    patients = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    today = timezone.localdate()
    exams = []
    for patient_id in rng.sample(patients, int(len(patients) * share)):
        missing = sorted(missing_by_patient.get(patient_id, set()) & perio.TEETH)
        first = _perio_measurements(rng, missing, None)
        second = _perio_measurements(rng, missing, first)
        doctor = rng.choice(doctors)
        day = today - datetime.timedelta(days=rng.randint(20, 200))
        for examined_on, measurements in (
            (day - datetime.timedelta(days=180), first),
            (day, second),
        ):
            exams.append(
                PerioExam(
                    patient_id=patient_id,
                    doctor=doctor,
                    examined_on=examined_on,
                    measurements=measurements,
                    missing=missing,
                )
            )
    PerioExam.objects.bulk_create(exams, batch_size=500)
    log(f"clinical: {len(exams)} periodontal exams")


def _perio_measurements(rng: random.Random, missing: list[int], before: dict | None) -> dict:
    from clinical import perio

    measurements = {}
    for tooth in sorted(perio.TEETH - set(missing)):
        old = before[str(tooth)] if before else None
        pd, gm = [], []
        for site in range(6):
            if old is None:
                depth = (
                    rng.choice((1, 2, 2, 3, 3, 3, 4, 5))
                    if site not in (1, 4)
                    else rng.choice((1, 2, 2, 3))
                )
                margin = rng.choice((0, 0, 0, 1, 2, -1))
            else:
                worse = rng.random() < 0.06
                depth = min(
                    15,
                    old["pd"][site] + (rng.choice((2, 3)) if worse else rng.choice((0, 0, 1, -1))),
                )
                depth = max(0, depth)
                margin = old["gm"][site]
            pd.append(depth)
            gm.append(margin)
        measurements[str(tooth)] = {
            "pd": pd,
            "gm": gm,
            "bop": [(d >= 4 and rng.random() < 0.6) or rng.random() < 0.1 for d in pd],
            "sup": [d >= 6 and rng.random() < 0.3 for d in pd],
            "plaque": [rng.random() < 0.3 for _ in pd],
            "mobility": rng.choice((0, 0, 0, 0, 1)) if max(pd) < 5 else rng.choice((1, 2)),
            "furcation": (rng.choice((0, 0, 1, 2)) if tooth % 10 in (6, 7) else None),
        }
    return measurements
