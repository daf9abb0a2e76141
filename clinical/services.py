"""Writes of the clinical record. A chart record is added or removed, never edited."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import audit, events, teeth
from clinic.models import AuditAction
from clinical.models import Diagnosis, ToothRecord, ToothState
from patients.models import Patient


@transaction.atomic
def chart_records_add(
    *,
    patient: Patient,
    teeth_numbers: list[int],
    by,
    diagnosis: Diagnosis | None = None,
    state: str = "",
    surfaces: list[str] | tuple[str, ...] = (),
    dentition: str | None = None,
) -> list[ToothRecord]:
    """One record per selected tooth with the same diagnosis, state and surfaces; audited and
    published as ``chart.diagnosis_added`` (one event for the selection)."""
    chosen = teeth.validate_teeth(teeth_numbers, dentition)
    if diagnosis is None and not state:
        raise ValidationError(_("Choose a diagnosis or a state of the tooth."), code="empty")
    if state and state not in ToothState.values:
        raise ValidationError(_("Unknown state of a tooth."), code="no_such_state")
    if diagnosis is not None and not Diagnosis.objects.filter(pk=diagnosis.pk).exists():
        raise ValidationError(_("This diagnosis is not in the ICD-10 list."), code="no_such_code")
    codes = {tooth: teeth.validate_surfaces(tooth, surfaces) for tooth in chosen}
    now = timezone.now()
    records = ToothRecord.objects.bulk_create(
        [
            ToothRecord(
                patient=patient,
                tooth=tooth,
                surfaces=codes[tooth],
                diagnosis=diagnosis,
                state=state,
                recorded_at=now,
                recorded_by=by if by is not None and by.is_authenticated else None,
            )
            for tooth in chosen
        ]
    )
    for record in records:
        audit.record_created(
            actor=by,
            obj=record,
            patient_id=patient.pk,
            fields=["tooth", "surfaces", "diagnosis", "state", "recorded_at"],
        )
    events.publish(
        "chart.diagnosis_added",
        patient,
        {
            "patient_id": patient.pk,
            "record_ids": [record.pk for record in records],
            "teeth": chosen,
            "diagnosis": diagnosis.code if diagnosis else "",
            "diagnosis_name": diagnosis.name if diagnosis else "",
            "state": state,
            "surfaces": "".join(sorted(set(surfaces))),
        },
        actor=by,
    )
    return records


@transaction.atomic
def chart_record_remove(*, record: ToothRecord, by) -> ToothRecord:
    """Mark a current record removed (the row stays: the chart of past days still shows it)."""
    current = ToothRecord.objects.select_for_update(no_key=True).get(pk=record.pk)
    if current.removed_at is not None:
        raise ValidationError(_("This record has already been removed."), code="removed")
    current.removed_at = timezone.now()
    current.removed_by = by if by is not None and by.is_authenticated else None
    current.save(update_fields=["removed_at", "removed_by"])
    audit.record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=current,
        changes={"removed_at": [None, current.removed_at]},
        patient_id=current.patient_id,
    )
    events.publish(
        "chart.diagnosis_removed",
        current,
        {
            "patient_id": current.patient_id,
            "id": current.pk,
            "tooth": current.tooth,
            "diagnosis": current.diagnosis.code if current.diagnosis_id else "",  # type: ignore[union-attr]
            "state": current.state,
        },
        actor=by,
    )
    return current
