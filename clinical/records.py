"""Writes of the medical history: a record is created, edited until signed, signed, and
corrected after signing as a new version (the signed one kept, superseded)."""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import audit, events, teeth
from clinic.models import AuditAction, ProfessionKind
from clinic.permissions import has_module_perm
from clinical.models import Diagnosis, MedicalRecord, Recommendation, RecordSection
from patients.models import Patient

TEXT_FIELDS = tuple(RecordSection.values)
FIELDS = ("appointment", "doctor", "recorded_on", "teeth", *TEXT_FIELDS)


def _user(by):
    return by if by is not None and by.is_authenticated else None


def _check(patient: Patient, data: dict, diagnoses: Iterable[Diagnosis]) -> tuple[dict, list]:
    """The data with its teeth as text; a ``ValidationError`` naming what is wrong."""
    chosen = list(diagnoses)
    if not chosen:
        raise ValidationError(_("Choose at least one diagnosis (ICD-10)."), code="no_diagnosis")
    known = set(
        Diagnosis.objects.filter(pk__in=[d.pk for d in chosen]).values_list("pk", flat=True)
    )
    if any(d.pk not in known for d in chosen):
        raise ValidationError(_("This diagnosis is not in the ICD-10 list."), code="no_such_code")
    doctor = data["doctor"]
    if doctor is None or doctor.kind != ProfessionKind.DOCTOR:
        raise ValidationError(_("Choose a doctor."), code="no_doctor")
    appointment = data.get("appointment")
    if appointment is not None and appointment.patient_id != patient.pk:
        raise ValidationError(_("This visit is another patient's."), code="other_patient")
    numbers = data.get("teeth") or []
    data = {**data, "teeth": ",".join(map(str, teeth.validate_teeth(numbers))) if numbers else ""}
    return data, chosen


def _write_recommendations(record: MedicalRecord) -> None:
    record.recommendation_rows.all().delete()
    Recommendation.objects.bulk_create(
        [
            Recommendation(record=record, doctor_id=record.doctor_id, text=line.strip()[:1000])
            for line in record.recommendations.splitlines()
            if line.strip()
        ]
    )


def _payload(record: MedicalRecord) -> dict:
    return {
        "patient_id": record.patient_id,
        "id": record.pk,
        "version": record.version,
        "diagnoses": [d.code for d in record.diagnoses.all()],
    }


@transaction.atomic
def record_create(*, patient: Patient, data: dict, diagnoses, by) -> MedicalRecord:
    data, chosen = _check(patient, data, diagnoses)
    record = MedicalRecord(patient=patient, created_by=_user(by), **data)
    record.full_clean(exclude=["diagnoses"])
    record.save()
    record.diagnoses.set(chosen)
    _write_recommendations(record)
    audit.record_created(actor=by, obj=record, patient_id=patient.pk, fields=[*FIELDS, "diagnoses"])
    events.publish("medical_record.created", record, _payload(record), actor=by)
    return record


@transaction.atomic
def record_update(*, record: MedicalRecord, data: dict, diagnoses, by) -> MedicalRecord:
    current = MedicalRecord.objects.select_for_update(no_key=True).get(pk=record.pk)
    if current.is_signed:
        raise ValidationError(
            _("This record is signed and cannot be edited: correct it with a reason instead."),
            code="signed",
        )
    data, chosen = _check(current.patient, data, diagnoses)
    before = audit.snapshot(current, [*FIELDS, "diagnoses"])
    for name, value in data.items():
        setattr(current, name, value)
    current.full_clean(exclude=["diagnoses"])
    current.save()
    current.diagnoses.set(chosen)
    _write_recommendations(current)
    changes = audit.diff(before, audit.snapshot(current, [*FIELDS, "diagnoses"]))
    if changes:
        audit.record(
            actor=by,
            action=AuditAction.UPDATE,
            obj=current,
            changes=changes,
            patient_id=current.patient_id,
        )
    return current


def may_sign(user, record: MedicalRecord) -> bool:
    """The record's own doctor with the right to change the clinical record, or a superuser
    (the head doctor signing for another)."""
    own = record.doctor.user_id is not None and record.doctor.user_id == user.pk
    return (own and has_module_perm(user, "clinical", "change")) or user.is_superuser


@transaction.atomic
def record_sign(*, record: MedicalRecord, by) -> MedicalRecord:
    current = MedicalRecord.objects.select_for_update(no_key=True).get(pk=record.pk)
    if not may_sign(by, current):
        raise PermissionDenied(_("Only the record's doctor may sign it."))
    if current.is_signed:
        raise ValidationError(_("This record is already signed."), code="signed")
    current.signed_at = timezone.now()
    current.signed_by = _user(by)
    current.save(update_fields=["signed_at", "signed_by"])
    audit.record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=current,
        changes={"signed_at": [None, current.signed_at]},
        patient_id=current.patient_id,
    )
    events.publish("medical_record.signed", current, _payload(current), actor=by)
    return current


@transaction.atomic
def record_correct(
    *, record: MedicalRecord, data: dict, diagnoses, reason: str, by
) -> MedicalRecord:
    """A new version of a signed record; the signed one stays as it was, superseded."""
    current = MedicalRecord.objects.select_for_update(no_key=True).get(pk=record.pk)
    if not current.is_signed or current.superseded_at is not None:
        raise ValidationError(
            _("Only the latest signed version of a record is corrected."), code="not_signed"
        )
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say why the record is corrected."), code="no_reason")
    data, chosen = _check(current.patient, data, diagnoses)
    current.superseded_at = timezone.now()
    current.save(update_fields=["superseded_at"])
    new = MedicalRecord(
        patient_id=current.patient_id,
        previous=current,
        version=current.version + 1,
        correction_reason=reason[:500],
        created_by=_user(by),
        **data,
    )
    new.full_clean(exclude=["diagnoses", "previous"])
    new.save()
    new.diagnoses.set(chosen)
    _write_recommendations(new)
    audit.record_created(
        actor=by,
        obj=new,
        patient_id=new.patient_id,
        fields=[*FIELDS, "diagnoses", "version", "correction_reason"],
    )
    events.publish(
        "medical_record.corrected",
        new,
        {**_payload(new), "previous_id": current.pk, "reason": new.correction_reason},
        actor=by,
    )
    return new
