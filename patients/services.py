"""Writes of the patient card. Every function audits and publishes its domain event
(``patient.created / updated / deleted``, ``family.*``, ``patient.portal_*``); the events
carry ``patient_id`` so that the timeline and the amoCRM sync can follow them."""

import datetime
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import audit, events, files, preferences
from clinic import services as clinic_services
from clinic.audit import snapshot
from clinic.jobs import enqueue
from clinic.models import AuditAction, User
from clinic.numbering import next_number
from clinic.writes import save_changes, save_new
from patients.models import (
    IMPORT_FOLDER,
    Family,
    ImportStatus,
    LegalRepresentative,
    Patient,
    PatientImport,
    PortalAccount,
)

logger = logging.getLogger(__name__)

CARD_SEQUENCE = "patient_card"
# What the CRM sync needs to mirror a patient (and nothing medical).
SYNC_FIELDS = (
    "last_name",
    "first_name",
    "middle_name",
    "phone",
    "email",
    "birth_date",
    "gender",
    "messaging_consent",
    "coordinator",
    "attending_doctor",
    "marketing_channel",
    "card_number",
)


class PossibleDuplicates(Exception):
    """Raised instead of saving when the new card looks like an existing one."""

    def __init__(self, duplicates: list[Patient]):
        super().__init__("possible duplicates")
        self.duplicates = duplicates


def find_duplicates(
    *,
    phone: str = "",
    last_name: str = "",
    first_name: str = "",
    birth_date: datetime.date | None = None,
    snils: str = "",
    inn: str = "",
    exclude_pk: int | None = None,
) -> QuerySet[Patient]:
    """Live cards with the same phone, SNILS or INN, or the same name and date of birth."""
    condition = Q()
    if phone:
        condition |= Q(phone=phone)
    if snils:
        condition |= Q(snils=snils)
    if inn:
        condition |= Q(inn=inn)
    if last_name and first_name and birth_date:
        condition |= Q(
            last_name__iexact=last_name.strip(),
            first_name__iexact=first_name.strip(),
            birth_date=birth_date,
        )
    if not condition:
        return Patient.objects.none()
    duplicates = Patient.objects.filter(condition)
    if exclude_pk:
        duplicates = duplicates.exclude(pk=exclude_pk)
    return duplicates.order_by("last_name", "first_name")[:5]


# Personal numbers that identify one person: a second card with one of them is refused
# (a phone only warns: a family shares one). The database enforces it too (a partial unique
# index per number, live cards only), for two saves at the same moment.
UNIQUE_DOCUMENTS = ("snils", "inn")


def document_taken_message(name: str, owner: Patient) -> str:
    values = {"name": owner.full_name, "card": owner.card_number}
    if name == "snils":
        return _("This SNILS is on the card of %(name)s (№ %(card)s).") % values
    return _("This INN is on the card of %(name)s (№ %(card)s).") % values


def refuse_taken_documents(data: dict[str, Any], *, exclude_pk: int | None = None) -> None:
    """Raise a field error for a SNILS or INN that another live card has."""
    wanted = {name: data[name] for name in UNIQUE_DOCUMENTS if data.get(name)}
    if not wanted:
        return
    condition = Q()
    for name, value in wanted.items():
        condition |= Q(**{name: value})
    owners = Patient.objects.filter(condition)
    if exclude_pk is not None:
        owners = owners.exclude(pk=exclude_pk)
    errors = {}
    for owner in owners.order_by("pk")[: len(wanted)]:
        for name, value in wanted.items():
            if getattr(owner, name) == value and name not in errors:
                errors[name] = document_taken_message(name, owner)
    if errors:
        raise ValidationError(errors)


def _document_conflict(error: IntegrityError) -> ValidationError | None:
    """The unique index caught what the check before it could not see (a save at the same
    moment): the same field error, not a 500."""
    text = str(error)
    if "patient_snils_unique" in text or "patients_patient.snils" in text:
        return ValidationError({"snils": _("Another card already has this SNILS.")})
    if "patient_inn_unique" in text or "patients_patient.inn" in text:
        return ValidationError({"inn": _("Another card already has this INN.")})
    return None


@transaction.atomic
def patient_create(
    *, by: User | None, data: dict[str, Any], confirm_duplicate: bool = False
) -> Patient:
    refuse_taken_documents(data)
    if not confirm_duplicate:
        duplicates = list(
            find_duplicates(
                phone=data.get("phone", ""),
                last_name=data.get("last_name", ""),
                first_name=data.get("first_name", ""),
                birth_date=data.get("birth_date"),
            )
        )
        if duplicates:
            raise PossibleDuplicates(duplicates)
    now = timezone.now()
    patient = Patient(
        **data,
        card_number=next_number(CARD_SEQUENCE),
        created_by=by,
        created_at=now,
        last_activity_at=now,
    )
    patient.full_clean()
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError as error:
        raise _document_conflict(error) or error from error
    audit.record_created(actor=by, obj=patient, patient_id=patient.pk)
    events.publish(
        "patient.created",
        patient,
        {"patient_id": patient.pk, **snapshot(patient, SYNC_FIELDS)},
        actor=by,
    )
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, by: User | None, data: dict[str, Any]) -> tuple[Patient, dict]:
    """Apply edits; ``patient.updated`` carries the changed fields and their new values."""
    if any(name in data for name in UNIQUE_DOCUMENTS):
        refuse_taken_documents(data, exclude_pk=patient.pk)
    try:
        with transaction.atomic():
            patient, changes = save_changes(patient, by=by, data=data, patient_id=patient.pk)
    except IntegrityError as error:
        raise _document_conflict(error) or error from error
    if changes:
        events.publish(
            "patient.updated",
            patient,
            {
                "patient_id": patient.pk,
                "changed": sorted(changes),
                "values": {name: values[1] for name, values in changes.items()},
            },
            actor=by,
        )
    return patient, changes


def patient_delete(*, patient: Patient, by: User, confirm: str | None = None) -> None:
    """To the recycle bin; the card, its history and its links stay, restorable at once.
    Upcoming visits are cancelled with it once ``confirm`` names them (``clinic.dependents``)."""
    clinic_services.object_soft_delete(obj=patient, by=by, confirm=confirm)


# --- Family ----------------------------------------------------------------------------


@transaction.atomic
def family_create(*, patient: Patient, by: User, name: str, card_number: str = "") -> Family:
    if patient.family_id:
        raise ValidationError(_("The patient is already in a family; leave it first."))
    family = Family(name=name.strip(), card_number=card_number.strip())
    family.full_clean()
    family.save()
    audit.record_created(actor=by, obj=family, patient_id=patient.pk)
    _set_family(patient=patient, family=family, by=by)
    return family


@transaction.atomic
def family_join(*, patient: Patient, family: Family, by: User) -> None:
    if patient.family_id == family.pk:
        return
    if patient.family_id:
        raise ValidationError(_("The patient is already in a family; leave it first."))
    _set_family(patient=patient, family=family, by=by)


@transaction.atomic
def family_leave(*, patient: Patient, by: User) -> None:
    family = patient.family
    if family is None:
        return
    patient, _changes = save_changes(patient, by=by, data={"family": None}, patient_id=patient.pk)
    events.publish(
        "family.left",
        patient,
        {"patient_id": patient.pk, "family_id": family.pk, "family": str(family)},
        actor=by,
    )
    # Members in the recycle bin count: restoring one must bring the family back too.
    if not Patient.all_objects.filter(family=family).exists():
        audit.record(
            actor=by,
            action="delete",
            obj=family,
            patient_id=patient.pk,
            changes={"reason": [None, "last member left"]},
        )
        family.delete()


def _set_family(*, patient: Patient, family: Family, by: User) -> None:
    save_changes(patient, by=by, data={"family": family}, patient_id=patient.pk)
    events.publish(
        "family.joined",
        patient,
        {"patient_id": patient.pk, "family_id": family.pk, "family": str(family)},
        actor=by,
    )


# --- Legal representative --------------------------------------------------------------


@transaction.atomic
def representative_save(
    *, patient: Patient, by: User, data: dict[str, Any]
) -> tuple[LegalRepresentative, dict]:
    """Add the card's legal representative, or change it; audited under the patient."""
    current = (
        LegalRepresentative.objects.select_for_update(no_key=True).filter(patient=patient).first()
    )
    if current is None:
        representative = save_new(
            LegalRepresentative(patient=patient, **data), by=by, patient_id=patient.pk
        )
        changes = {name: [None, value] for name, value in data.items() if value not in (None, "")}
    else:
        representative, changes = save_changes(current, by=by, data=data, patient_id=patient.pk)
    if changes:
        events.publish(
            "patient.representative_saved",
            patient,
            {"patient_id": patient.pk, "changed": sorted(changes)},
            actor=by,
        )
    return representative, changes


@transaction.atomic
def representative_remove(*, patient: Patient, by: User) -> None:
    representative = (
        LegalRepresentative.objects.select_for_update(no_key=True).filter(patient=patient).first()
    )
    if representative is None:
        return
    audit.record(
        actor=by,
        action=AuditAction.DELETE,
        obj=representative,
        patient_id=patient.pk,
        changes={"full_name": [representative.full_name, None]},
    )
    representative.delete()
    events.publish("patient.representative_removed", patient, {"patient_id": patient.pk}, actor=by)


# --- Portal account --------------------------------------------------------------------


@transaction.atomic
def portal_activate(*, patient: Patient, by: User, login: str) -> PortalAccount:
    login = login.strip()
    taken = PortalAccount.objects.filter(login__iexact=login).exclude(patient=patient).exists()
    if taken:
        raise ValidationError({"login": _("This login belongs to another patient.")})
    now = timezone.now()
    account, _created = PortalAccount.objects.select_for_update(no_key=True).get_or_create(
        patient=patient, defaults={"login": login, "activated_at": now}
    )
    account.login, account.is_active, account.activated_at, account.deactivated_at = (
        login,
        True,
        now,
        None,
    )
    account.save()
    audit.record(
        actor=by,
        action="update",
        obj=patient,
        patient_id=patient.pk,
        changes={"portal_account": ["inactive", f"active: {login}"]},
    )
    events.publish(
        "patient.portal_activated",
        patient,
        {"patient_id": patient.pk, "login": login, "activated_at": now},
        actor=by,
    )
    return account


@transaction.atomic
def portal_deactivate(*, patient: Patient, by: User) -> None:
    account = (
        PortalAccount.objects.select_for_update(no_key=True)
        .filter(patient=patient, is_active=True)
        .first()
    )
    if account is None:
        return
    account.is_active, account.deactivated_at = False, timezone.now()
    account.save(update_fields=["is_active", "deactivated_at", "updated_at"])
    audit.record(
        actor=by,
        action="update",
        obj=patient,
        patient_id=patient.pk,
        changes={"portal_account": [f"active: {account.login}", "inactive"]},
    )
    events.publish(
        "patient.portal_deactivated",
        patient,
        {
            "patient_id": patient.pk,
            "login": account.login,
            "deactivated_at": account.deactivated_at,
        },
        actor=by,
    )


# --- Activity and status ---------------------------------------------------------------


def returning_after_months() -> int:
    return int(preferences.get("patients.returning_after_months"))


@transaction.atomic
def patient_record_activity(*, patient_id: int, at: datetime.datetime) -> None:
    """A visit or payment happened: move the last activity, and turn the patient returning
    if the pause before it was longer than the clinic's setting."""
    patient = Patient.all_objects.select_for_update(no_key=True).filter(pk=patient_id).first()
    if patient is None:
        return
    fields = []
    gap = datetime.timedelta(days=round(returning_after_months() * 30.44))
    if (
        patient.last_activity_at
        and at - patient.last_activity_at > gap
        and patient.returning_since is None
    ):
        patient.returning_since = at
        fields.append("returning_since")
    if patient.last_activity_at is None or at > patient.last_activity_at:
        patient.last_activity_at = at
        fields.append("last_activity_at")
    if fields:
        patient.save(update_fields=fields)


# --- Import jobs -----------------------------------------------------------------------
# The passes themselves are in ``patients.imports``; these are the steps people (and the
# periodic sweep) take on a job. Each is audited on the job.


def _job_audit(job: PatientImport, by: User | None, before: str, **changes: Any) -> None:
    audit.record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=job,
        object_repr=f"import {job.original_name}",
        changes={"status": [before, job.status], **{k: [None, v] for k, v in changes.items()}},
    )


def _locked_job(job: PatientImport) -> PatientImport:
    return PatientImport.objects.select_for_update(no_key=True).get(pk=job.pk)


@transaction.atomic
def patient_import_start(*, by: User, upload: UploadedFile) -> PatientImport:
    """Store the upload (under a random name) and check it in the background."""
    from patients.tasks import patient_import_validate

    job = PatientImport.objects.create(
        file=upload,
        original_name=(upload.name or "")[:255],
        created_by=by,
        progress_at=timezone.now(),
    )
    audit.record_created(actor=by, obj=job, fields=["original_name", "status"])
    enqueue(patient_import_validate, job.pk)
    return job


@transaction.atomic
def patient_import_confirm(*, job: PatientImport, by: User) -> PatientImport:
    from patients.tasks import patient_import_run

    job = _locked_job(job)
    if job.status != ImportStatus.PREVIEW:
        raise ValidationError(_("This import is not waiting for confirmation."))
    job.status, job.confirmed_by, job.progress_at = ImportStatus.IMPORTING, by, timezone.now()
    # The import pass counts again, from the first row: the preview was a forecast.
    job.processed_rows = job.new_count = job.update_count = 0
    job.invalid_count = job.skipped_count = 0
    job.preview = {}
    job.save(
        update_fields=[
            "status",
            "confirmed_by",
            "progress_at",
            "processed_rows",
            "new_count",
            "update_count",
            "invalid_count",
            "skipped_count",
            "preview",
        ]
    )
    _job_audit(job, by, ImportStatus.PREVIEW)
    enqueue(patient_import_run, job.pk)
    return job


@transaction.atomic
def patient_import_cancel(*, job: PatientImport, by: User) -> bool:
    """Before the import pass only: nothing has changed yet. False if it was too late."""
    job = _locked_job(job)
    if job.status not in (ImportStatus.VALIDATING, ImportStatus.PREVIEW):
        return False
    before, job.status, job.finished_at = job.status, ImportStatus.CANCELLED, timezone.now()
    job.save(update_fields=["status", "finished_at"])
    _job_audit(job, by, before)
    files.discard(job, "file")
    return True


@transaction.atomic
def patient_import_fail(*, job: PatientImport, error: str, by: User | None = None) -> bool:
    """End a job that has not ended (an unreadable file, a crash, a stuck job given up,
    an expired one) and delete its file. Chunks already imported stay, audited."""
    job = _locked_job(job)
    if job.status not in (ImportStatus.VALIDATING, ImportStatus.PREVIEW, ImportStatus.IMPORTING):
        return False
    before = job.status
    job.status, job.error, job.finished_at = ImportStatus.FAILED, error[:2000], timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])
    _job_audit(job, by, before, error=job.error, processed_rows=job.processed_rows)
    files.discard(job, "file")
    return True


@transaction.atomic
def patient_import_resume(*, job: PatientImport, by: User) -> PatientImport:
    """Start a stuck job's pass again; it continues after its last committed chunk."""
    from patients.tasks import patient_import_run, patient_import_validate

    job = _locked_job(job)
    if not job.is_stuck:
        raise ValidationError(_("This import is not stuck."))
    job.progress_at = timezone.now()
    job.save(update_fields=["progress_at"])
    _job_audit(job, by, job.status, resumed_after_rows=job.processed_rows)
    task = patient_import_validate if job.status == ImportStatus.VALIDATING else patient_import_run
    enqueue(task, job.pk)
    return job


@transaction.atomic
def patient_import_give_up(*, job: PatientImport, by: User) -> None:
    """Mark a stuck job failed: what its committed chunks imported stays."""
    job = _locked_job(job)
    if not job.is_stuck:
        raise ValidationError(_("This import is not stuck."))
    patient_import_fail(
        job=job,
        by=by,
        error=_("Stopped after %(done)s of %(total)s rows and marked failed by %(user)s.")
        % {"done": job.processed_rows, "total": job.total_rows, "user": by},
    )


def patient_imports_sweep(*, now: datetime.datetime | None = None) -> int:
    """Keep import files no longer than ``PATIENT_IMPORT_KEEP_FILES_DAYS``: jobs left
    unfinished that long fail (their file goes with them), files of ended jobs whose
    deletion failed are deleted again, and files no job lists (an upload whose transaction
    rolled back) are deleted once that old. Returns how many jobs and files it handled."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.PATIENT_IMPORT_KEEP_FILES_DAYS)
    unfinished = [ImportStatus.VALIDATING, ImportStatus.PREVIEW, ImportStatus.IMPORTING]
    expired = list(
        PatientImport.objects.annotate(last_seen=Coalesce("progress_at", "created_at")).filter(
            status__in=unfinished, last_seen__lt=cutoff
        )
    )
    message = _("Not finished within %(days)s days; the file was deleted. Upload it again.") % {
        "days": settings.PATIENT_IMPORT_KEEP_FILES_DAYS
    }
    for expired_job in expired:
        patient_import_fail(job=expired_job, error=message)
    ended = list(PatientImport.objects.exclude(file="").exclude(status__in=unfinished))
    for ended_job in ended:
        files.discard(ended_job, "file")
    return len(expired) + len(ended) + _delete_orphans(cutoff)


def _delete_orphans(cutoff: datetime.datetime) -> int:
    storage = PatientImport._meta.get_field("file").storage  # type: ignore[attr-defined]
    try:
        _folders, names = storage.listdir(IMPORT_FOLDER)
    except FileNotFoundError:
        return 0
    listed = set(PatientImport.objects.exclude(file="").values_list("file", flat=True))
    deleted = 0
    for name in names:
        path = f"{IMPORT_FOLDER}/{name}"
        if path in listed:
            continue
        try:
            if storage.get_modified_time(path) < cutoff:
                storage.delete(path)
                deleted += 1
        except OSError:
            logger.warning("Could not delete the stray import file %s", path)
    return deleted
