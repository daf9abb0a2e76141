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
