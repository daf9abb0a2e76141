"""Writes of the patient card. Every function audits and publishes its domain event
(``patient.created / updated / deleted``, ``family.*``, ``patient.portal_*``); the events
carry ``patient_id`` so that the timeline and the amoCRM sync can follow them."""

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import audit, events, preferences
from clinic import services as clinic_services
from clinic.audit import snapshot
from clinic.models import User
from clinic.numbering import next_number
from clinic.writes import save_changes
from patients.models import Family, Patient, PortalAccount

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
    exclude_pk: int | None = None,
) -> QuerySet[Patient]:
    """Live cards with the same phone, or the same name and date of birth."""
    condition = Q()
    if phone:
        condition |= Q(phone=phone)
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


@transaction.atomic
def patient_create(
    *, by: User | None, data: dict[str, Any], confirm_duplicate: bool = False
) -> Patient:
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
    patient.save()
    audit.record_created(actor=by, obj=patient, patient_id=patient.pk)
    events.publish(
        "patient.created",
        patient,
        {"patient_id": patient.pk, **snapshot(patient, SYNC_FIELDS)},
        actor=by,
    )
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, by: User, data: dict[str, Any]) -> tuple[Patient, dict]:
    """Apply edits; ``patient.updated`` carries the changed fields and their new values."""
    patient, changes = save_changes(patient, by=by, data=data, patient_id=patient.pk)
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
