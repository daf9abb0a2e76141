"""Demo charts: about a third of the demo patients have findings on their teeth, some of
them corrected since (removed records), so the chart on a past date differs from today's."""

import datetime
import random

from django.utils import timezone

from clinic import teeth
from clinic.models import Employee, ProfessionKind
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


# (section, values) of a demo card: a teenager with crowding and a deep bite, in braces.
ORTHO_SECTIONS: list[tuple[str, dict]] = [
    ("title", {"referred_by": "Стоматолог-терапевт", "previous_treatment": "none"}),
    (
        "complaints",
        {"kinds": ["appearance"], "text": "Неровные передние зубы, стесняется улыбаться."},
    ),
    ("anamnesis", {"feeding": "mixed", "habits": ["lip"], "heredity": "У отца глубокий прикус."}),
    ("face", {"profile": "convex", "symmetry": "symmetric", "lips": "closed"}),
    (
        "oral",
        {
            "molars": "class2",
            "overbite": "deep",
            "midline": "coincides",
            "hygiene": "fair",
            "notes": "Скученность резцов нижней челюсти.",
        },
    ),
    ("preliminary", {"diagnosis": "Глубокий прикус, скученность зубов", "code": "K07.2"}),
    (
        "plan",
        {
            "appliance": "braces",
            "aims": "Нормализовать прикус, устранить скученность.",
            "months": "18",
        },
    ),
]
ORTHO_DIARY = [
    (90, "Фиксация брекет-системы на верхнюю челюсть, дуга 0.014 NiTi."),
    (45, "Фиксация брекет-системы на нижнюю челюсть, смена дуги на 0.016."),
]


def seed_orthodontics(log) -> None:
    """An orthodontic card or two among the demo's children and teenagers."""
    from clinical import orthodontics

    today = timezone.localdate()
    young = Patient.objects.filter(
        birth_date__gt=today - datetime.timedelta(days=18 * 365),
        birth_date__lte=today - datetime.timedelta(days=7 * 365),
    ).order_by("pk")[:2]
    doctor = (
        Employee.objects.filter(professions__name="Ортодонт").first()
        or Employee.objects.filter(kind=ProfessionKind.DOCTOR, user__username="doctor").first()
    )
    by = doctor.user if doctor is not None else None
    count = 0
    for number, patient in enumerate(young):
        card = orthodontics.card_create(
            patient=patient, by=by, opened_on=today - datetime.timedelta(days=120), doctor=doctor
        )
        sections = ORTHO_SECTIONS if number == 0 else ORTHO_SECTIONS[:3]
        for key, values in sections:
            orthodontics.section_save(card=card, key=key, values=values, by=by)
        if number == 0:
            for days, text in ORTHO_DIARY:
                orthodontics.section_save(
                    card=card,
                    key="diary",
                    values={
                        "on": (today - datetime.timedelta(days=days)).isoformat(),
                        "text": text,
                    },
                    by=by,
                )
        count += 1
    log(f"clinical: {count} orthodontic cards")


def _radiograph(seed: int, size=(320, 200)) -> bytes:
    """A small grey PNG that reads as an X-ray in the grid: dark film, light teeth."""
    import io

    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    picture = Image.new("L", size, 28)
    draw = ImageDraw.Draw(picture)
    width, height = size
    step = width // 8
    for number in range(8):
        left = number * step + rng.randint(2, 8)
        top = height // 2 - rng.randint(50, 70)
        draw.rounded_rectangle(
            (left, top, left + step - 12, top + rng.randint(110, 140)), radius=14, fill=190
        )
    picture = picture.filter(ImageFilter.GaussianBlur(3))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def seed_images(log) -> None:
    """Two small generated X-rays on each of three demo patients (a few kilobytes each)."""
    from decimal import Decimal

    from django.core.files.uploadedfile import SimpleUploadedFile

    from clinic.models import Branch
    from clinical import images
    from clinical.models import ImageKind, XrayType

    doctor = Employee.objects.filter(kind=ProfessionKind.DOCTOR, user__username="doctor").first()
    branch = Branch.objects.order_by("position", "pk").first()
    if doctor is None or branch is None:
        return
    count = 0
    shots = [
        (XrayType.INTRAORAL, [36], Decimal("0.005")),
        (XrayType.PANORAMIC, [], Decimal("0.015")),
    ]
    for number, patient in enumerate(Patient.objects.order_by("pk")[:3]):
        for shot, (xray_type, tooth_numbers, dose) in enumerate(shots):
            images.image_add(
                patient=patient,
                upload=SimpleUploadedFile(
                    f"demo-{number}-{shot}.png", _radiograph(number * 2 + shot)
                ),
                data={
                    "kind": ImageKind.XRAY,
                    "teeth": tooth_numbers,
                    "xray_type": xray_type,
                    "exposures": 1,
                    "dose_msv": dose,
                    "taken_at": timezone.now() - datetime.timedelta(days=40 - shot),
                    "taken_by": doctor,
                    "appointment": None,
                    "note": "",
                },
                branch=branch,
                by=None,
            )
            count += 1
    log(f"clinical images: {count}")


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

    from clinic.models import Profession, User
    from clinical import plan_selectors, plans
    from clinical.models import PlanStatus, PlanTemplate, PlanTemplateLine
    from pricelist.models import Service

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
