"""What a patient is as an amoCRM contact and a visit as a deal, both ways (no I/O here).

Values are compared as "synced values": plain JSON (strings, ints) per field, the same
whichever side they came from, so ``ExternalLink.synced_values`` can say what both sides
last agreed on and a sync sends or takes only what differs.
"""

import datetime
import zoneinfo
from decimal import Decimal
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from clinic.phones import normalize_phone
from integrations.amocrm.config import LOST, WON, AmoSettings

MIS_ID_CODE = "MIS_ID"


def contact_mis_id(patient) -> str:
    return str(patient.card_number)


def lead_mis_id(appointment) -> str:
    return f"V{appointment.pk}"


# --- Patients <-> contacts --------------------------------------------------------------


def patient_values(patient) -> dict[str, Any]:
    """The synced values of a patient (every field; which flow is the caller's choice)."""
    return {
        "full_name": " ".join(
            part for part in (patient.last_name, patient.first_name, patient.middle_name) if part
        ),
        "phone": patient.phone or "",
        "birth_date": patient.birth_date.isoformat() if patient.birth_date else "",
        "gender": str(patient.gender_id or ""),
    }


def _custom_values(entity: dict[str, Any], field_id: int | None, code: str = "") -> list[dict]:
    for field in entity.get("custom_fields_values") or []:
        if (field_id and field.get("field_id") == field_id) or (
            code and field.get("field_code") == code
        ):
            return [value for value in field.get("values") or [] if isinstance(value, dict)]
    return []


def contact_phones(contact: dict[str, Any]) -> list[str]:
    """The contact's phones in E.164, valid ones only, in their order."""
    phones = []
    for value in _custom_values(contact, None, "PHONE"):
        try:
            phone = normalize_phone(str(value.get("value") or ""))
        except ValidationError:
            continue
        if phone and phone not in phones:
            phones.append(phone)
    return phones


def contact_mis_id_value(contact: dict[str, Any], settings: AmoSettings) -> str:
    values = _custom_values(contact, settings.contact_fields.get("mis_id"), MIS_ID_CODE)
    return str(values[0].get("value") or "").strip() if values else ""


def date_from_amo(value: Any) -> datetime.date | None:
    """A date field's value: Unix seconds (midnight in the account's zone) or RFC 3339."""
    zone = timezone.get_default_timezone()
    if value in (None, ""):
        return None
    try:
        moment = datetime.datetime.fromtimestamp(int(value), tz=datetime.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        try:
            moment = datetime.datetime.fromisoformat(str(value))
        except ValueError:
            return None
        if moment.tzinfo is None:
            return moment.date()
    # A birthday is stored as local midnight: round to the nearest local day.
    local = moment.astimezone(zone) + datetime.timedelta(hours=12)
    return local.date()


def date_to_amo(day: datetime.date) -> int:
    zone = timezone.get_default_timezone()
    return int(datetime.datetime.combine(day, datetime.time(), tzinfo=zone).timestamp())


def contact_values(contact: dict[str, Any], settings: AmoSettings) -> dict[str, Any]:
    """The synced values read off an amoCRM contact (a field it does not carry is absent)."""
    values: dict[str, Any] = {}
    name = " ".join(str(contact.get("name") or "").split())
    if name:
        values["full_name"] = name
    phones = contact_phones(contact)
    if phones:
        values["phone"] = phones[0]
    birth_field = settings.contact_fields.get("birth_date")
    if birth_field:
        found = _custom_values(contact, birth_field)
        day = date_from_amo(found[0].get("value")) if found else None
        values["birth_date"] = day.isoformat() if day else ""
    gender_field = settings.contact_fields.get("gender")
    if gender_field:
        found = _custom_values(contact, gender_field)
        enum_id = found[0].get("enum_id") if found else None
        values["gender"] = next(
            (gender for gender, enum in settings.gender_enums.items() if enum == enum_id), ""
        )
    return values


def split_name(full_name: str) -> dict[str, str]:
    """ "Иванова Анна Петровна" -> last, first, middle; one word is a first name."""
    parts = full_name.split()
    if not parts:
        return {}
    if len(parts) == 1:
        return {"last_name": _("(no surname)"), "first_name": parts[0][:100], "middle_name": ""}
    return {
        "last_name": parts[0][:100],
        "first_name": parts[1][:100],
        "middle_name": " ".join(parts[2:])[:100],
    }


def patient_data(values: dict[str, Any]) -> dict[str, Any]:
    """Model field values for ``patient_create`` / ``patient_update`` from synced values."""
    data: dict[str, Any] = {}
    if "full_name" in values:
        data.update(split_name(values["full_name"]))
    if "phone" in values:
        data["phone"] = values["phone"]
    if "birth_date" in values:
        data["birth_date"] = (
            datetime.date.fromisoformat(values["birth_date"]) if values["birth_date"] else None
        )
    if "gender" in values:
        from clinic.models import Gender

        gender_id = values["gender"]
        data["gender"] = Gender.objects.filter(pk=int(gender_id)).first() if gender_id else None
    return data


def contact_body(
    values: dict[str, Any], settings: AmoSettings, *, mis_id: str | None = None
) -> dict[str, Any]:
    """A contact's POST / PATCH body with ``values`` (only the fields given) and the MIS ID."""
    body: dict[str, Any] = {}
    fields: list[dict[str, Any]] = []
    if "full_name" in values:
        body["name"] = values["full_name"]
        parts = split_name(values["full_name"])
        if parts:
            body["first_name"] = " ".join(filter(None, [parts["first_name"], parts["middle_name"]]))
            body["last_name"] = parts["last_name"]
    if values.get("phone"):
        fields.append(
            {"field_code": "PHONE", "values": [{"value": values["phone"], "enum_code": "MOB"}]}
        )
    birth_field = settings.contact_fields.get("birth_date")
    if birth_field and "birth_date" in values:
        day = values["birth_date"]
        fields.append(
            {
                "field_id": birth_field,
                "values": [{"value": date_to_amo(datetime.date.fromisoformat(day))}]
                if day
                else None,
            }
        )
    gender_field = settings.contact_fields.get("gender")
    if gender_field and "gender" in values:
        enum_id = settings.gender_enums.get(str(values["gender"]))
        if enum_id:
            fields.append({"field_id": gender_field, "values": [{"enum_id": enum_id}]})
    if mis_id is not None:
        fields.append(_mis_id_field(settings.contact_fields.get("mis_id"), mis_id))
    if fields:
        body["custom_fields_values"] = fields
    return body


def _mis_id_field(field_id: int | None, mis_id: str) -> dict[str, Any]:
    key: dict[str, Any] = {"field_id": field_id} if field_id else {"field_code": MIS_ID_CODE}
    return {**key, "values": [{"value": mis_id}]}


# --- Visits -> deals --------------------------------------------------------------------


def stage_for(status: str, settings: AmoSettings) -> int | None:
    """The deal's stage for a visit status; None when the clinic mapped none (stay put)."""
    return settings.status_to_stage.get(status)


def visit_values(
    appointment, *, lines: list, amount: Decimal, settings: AmoSettings
) -> dict[str, Any]:
    """A visit's synced values as the deal carries them."""
    zone = zoneinfo.ZoneInfo(appointment.branch.time_zone)
    start = appointment.start.astimezone(zone)
    services = ", ".join(
        line.service.name + (f" x{line.quantity}" if line.quantity > 1 else "") for line in lines
    )
    status = "cancelled" if appointment.deleted_at else appointment.status
    with translation.override(django_settings.LANGUAGE_CODE):  # amoCRM's users read the clinic's
        name = _("Visit %(date)s %(time)s, %(doctor)s") % {
            "date": formats.date_format(start, "d.m.Y"),
            "time": start.strftime("%H:%M"),
            "doctor": appointment.doctor.short_name,
        }
    values: dict[str, Any] = {
        "name": name,
        "price": int(amount.to_integral_value()),
        "date": date_to_amo(start.date()),
        "time": start.strftime("%H:%M"),
        "duration": int((appointment.end - appointment.start).total_seconds() // 60),
        "doctor": appointment.doctor.full_name,
        "branch": appointment.branch.name,
        "services": services,
    }
    responsible = settings.amo_user_for(appointment.doctor_id)
    if settings.responsible_flows_out("lead") and appointment.patient.coordinator_id:
        # The deal carries the patient's responsible instead (none when that employee has
        # no amoCRM user: never guessed; the responsible sync reports it).
        responsible = settings.amo_user_for(appointment.patient.coordinator_id)
    if responsible:
        values["responsible_user_id"] = responsible
    # The visit's status is what is compared ("visit_status", never sent): a manager who moves
    # the deal to a stage no status maps to is not moved back until the status changes.
    values["visit_status"] = status
    return values


def status_fields(status: str, settings: AmoSettings) -> dict[str, Any]:
    """The deal's stage (and loss reason) for a visit status; nothing when none is mapped."""
    stage = stage_for(status, settings)
    if not stage:
        return {}
    fields: dict[str, Any] = {"status_id": stage}
    if stage == LOST and settings.loss_reason_id:
        fields["loss_reason_id"] = settings.loss_reason_id
    return fields


def lead_body(
    values: dict[str, Any],
    settings: AmoSettings,
    *,
    mis_id: str | None = None,
    contact_id: int | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        key: values[key] for key in ("name", "price", "responsible_user_id") if key in values
    }
    if "visit_status" in values:
        body.update(status_fields(values["visit_status"], settings))
    if "status_id" in body and settings.pipeline_id:
        body["pipeline_id"] = settings.pipeline_id
    fields = []
    for key in ("date", "time", "duration", "doctor", "branch", "services"):
        field_id = settings.lead_fields.get(key)
        if field_id and key in values:
            fields.append(
                {"field_id": field_id, "values": [{"value": values[key]}] if values[key] else None}
            )
    if mis_id is not None:
        fields.append(_mis_id_field(settings.lead_fields.get("mis_id"), mis_id))
    if fields:
        body["custom_fields_values"] = fields
    if contact_id:
        body["_embedded"] = {"contacts": [{"id": contact_id, "is_main": True}]}
    return body


def is_closed(stage: int | None) -> bool:
    return stage in (WON, LOST)
