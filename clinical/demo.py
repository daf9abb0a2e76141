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


# (name, description, diagnoses, [(profession, service code, hours, quantity)])
PLAN_TEMPLATES = [
    (
        "Кариес: пломба",
        "Осмотр, прицельный снимок и пломба светового отверждения на каждый зуб с кариесом.",
        ["K02.0", "K02.1", "K02.2"],
        [
            ("Терапевт", "B01.065.001", "0.5", 1),
            ("Рентгенолог", "A06.07.003", "0.25", 1),
            ("Терапевт", "A16.07.002.010", "1", 1),
        ],
    ),
    (
        "Пульпит, периодонтит: эндодонтическое лечение",
        "Снимок, лечение каналов под ключ и восстановление пломбой.",
        ["K04.0", "K04.01", "K04.02", "K04.03", "K04.5"],
        [
            ("Терапевт", "B01.065.001", "0.5", 1),
            ("Рентгенолог", "A06.07.003", "0.25", 2),
            ("Терапевт", "CL-0013", "1.5", 1),
            ("Терапевт", "A16.07.031", "1", 1),
        ],
    ),
    (
        "Пародонтит: пародонтологическое лечение",
        "Осмотр пародонтолога, профессиональная гигиена и закрытый кюретаж.",
        ["K05.3", "K05.30", "K05.31"],
        [
            ("Пародонтолог", "CL-0002", "0.5", 1),
            ("Пародонтолог", "A12.07.004", "0.5", 1),
            ("Гигиенист", "A16.07.051", "1", 1),
            ("Пародонтолог", "A16.07.039", "0.5", 1),
        ],
    ),
    (
        "Отсутствие зуба: имплантация и коронка",
        "Консультация имплантолога, КЛКТ, имплантат и коронка на имплантате.",
        ["K08.1"],
        [
            ("Хирург", "CL-0001", "0.75", 1),
            ("Рентгенолог", "A06.07.013", "0.5", 1),
            ("Хирург", "A16.07.054", "1.5", 1),
            ("Ортопед", "CL-0051", "1", 1),
        ],
    ),
    (
        "Ортодонтия: брекет-система",
        "Диагностика, брекет-системы на обе челюсти, активации и ретенция.",
        ["K07.2", "K07.20", "K07.3"],
        [
            ("Ортодонт", "B01.063.001", "0.5", 1),
            ("Ортодонт", "CL-0055", "1", 1),
            ("Ортодонт", "CL-0056", "1.5", 2),
            ("Ортодонт", "A23.07.001", "0.5", 12),
            ("Ортодонт", "CL-0062", "0.5", 2),
        ],
    ),
]


def seed_plans(log) -> None:
    """Five plan templates from the price list, and plans (draft, approved, completed) for a
    few demo patients filled from their charts' diagnoses the way "Suggest" does."""
    from decimal import Decimal

    from billing.models import Service
    from clinic.models import Profession, User
    from clinical import plan_selectors, plans
    from clinical.models import PlanStatus, PlanTemplate, PlanTemplateLine

    professions = {p.name: p for p in Profession.objects.filter(kind=ProfessionKind.DOCTOR)}
    services = {s.code: s for s in Service.objects.all()}
    diagnoses = {d.code: d for d in Diagnosis.objects.all()}
    made = 0
    for position, (name, description, codes, lines) in enumerate(PLAN_TEMPLATES, start=1):
        usable = [
            (professions[p], services[code], Decimal(hours), quantity)
            for p, code, hours, quantity in lines
            if p in professions and code in services
        ]
        if not usable:
            continue
        template = PlanTemplate.objects.create(
            name=name, description=description, position=position
        )
        template.diagnoses.set([diagnoses[c] for c in codes if c in diagnoses])
        PlanTemplateLine.objects.bulk_create(
            PlanTemplateLine(
                template=template,
                profession=profession,
                service=service,
                hours=hours,
                quantity=quantity,
                position=number,
            )
            for number, (profession, service, hours, quantity) in enumerate(usable, start=1)
        )
        made += 1
    doctor = (
        Employee.objects.filter(kind=ProfessionKind.DOCTOR, user__username="doctor").first()
        or Employee.objects.filter(kind=ProfessionKind.DOCTOR).first()
    )
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    count = 0
    if doctor is None or not made:
        log(f"clinical: {made} plan templates")
        return
    branch = doctor.branches.order_by("position", "pk").first()
    with_diagnoses = (
        ToothRecord.objects.current()
        .filter(diagnosis__isnull=False, patient__deleted_at__isnull=True)
        .order_by("patient_id")
        .values_list("patient_id", flat=True)
        .distinct()[:6]
    )
    for patient in Patient.objects.filter(pk__in=list(with_diagnoses)).order_by("pk"):
        found = plan_selectors.current_diagnoses(patient.pk)
        ranked = plan_selectors.suggest({entry.diagnosis.pk for entry in found})
        if not ranked or branch is None:
            continue
        plan = plans.plan_create(
            patient=patient, branch=branch, doctor=doctor, by=admin, title=ranked[0].name
        )
        plans.plan_fill_from_template(
            plan=plan,
            template=PlanTemplate.objects.get(pk=ranked[0].template_id),
            teeth_by_diagnosis={entry.diagnosis.pk: entry.teeth for entry in found},
            by=admin,
        )
        # One in three stays a draft, one is approved, one approved and completed.
        if count % 3 >= 1 and plan.lines.exists():
            plan = plans.plan_set_status(plan=plan, status=PlanStatus.APPROVED, by=admin)
            if count % 3 == 2:
                plans.plan_set_status(plan=plan, status=PlanStatus.COMPLETED, by=admin)
        count += 1
    log(f"clinical: {made} plan templates, {count} treatment plans")
