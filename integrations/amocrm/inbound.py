"""amoCRM -> Odonta: contacts become patients, deal stages become visit statuses.

Webhooks only say *what* changed; the entities are read again through the API (one
request per 250), which is the truth even when webhooks arrive late, twice or out of
order. A webhook about a change Odonta itself made (its ``updated_at`` not newer than what
our write returned) is not read at all: the echo costs nothing and changes nothing.
"""

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from calendar_app import services as calendar_services
from calendar_app.models import Appointment
from integrations import queue, synclog
from integrations.amocrm import payloads, responsible
from integrations.amocrm.client import AmoClient
from integrations.amocrm.config import CONTACT, INBOUND_ALLOWED, LEAD, SYSTEM, AmoSettings
from integrations.amocrm.decisions import open_for_contact
from integrations.amocrm.outbound import link_make, link_synced
from integrations.amocrm.sync import remote_time
from integrations.amocrm.webhook_format import parse_webhook
from integrations.links import link_find, link_for
from integrations.models import Connection, ExternalLink, SyncResult
from patients import services as patient_services
from patients.models import Patient

logger = logging.getLogger(__name__)

CARD_NUMBER_MAX = 10**18


def _log(connection, action: str, entity_type: str, entity_id, result: str, **kwargs) -> None:
    synclog.log(
        direction="in",
        system=SYSTEM,
        connection=connection,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        result=result,
        **kwargs,
    )


def _is_echo(link: ExternalLink | None, updated_at: Any) -> bool:
    moment = remote_time(updated_at)
    return bool(link and link.remote_updated_at and moment and moment <= link.remote_updated_at)


def _to_read(action: str, link: ExternalLink | None, data: dict[str, Any]) -> bool:
    """Whether a reported change needs the entity read again. Not an echo of our own write;
    nor the "added" report of an entity linked already: Odonta created it (amoCRM's answer
    to a create carries no ``updated_at``, so ``_is_echo`` cannot tell), or linked it on an
    earlier delivery of the same report. An initial sync would otherwise read back every
    contact it made, a request per webhook."""
    if action == "add" and link is not None:
        return False
    return not _is_echo(link, data.get("updated_at") or data.get("last_modified"))


# --- Webhooks -----------------------------------------------------------------------------


def process_webhook(connection: Connection, client: AmoClient, body: str) -> dict[str, int]:
    """Apply one webhook request (any number of entities and kinds of events)."""
    hook = parse_webhook(body)
    settings = client.settings
    if settings.account_id and hook.account_id != settings.account_id:
        raise ValueError(f"A webhook of another account ({hook.account_id})")
    contact_ids: list[int] = []
    lead_ids: list[int] = []
    deleted: list[int] = []
    # Entities a ``responsible_*`` event named: their responsible did change.
    hints: dict[str, set[int]] = {"contact": set(), "lead": set()}
    for event in hook.events:
        if event.entity in hints and event.action == "responsible":
            hints[event.entity].add(event.id)
        if event.entity == "contact" and event.action in (
            "add",
            "update",
            "restore",
            "responsible",
        ):
            link = link_find(system=SYSTEM, external_type=CONTACT, external_id=str(event.id))
            if _to_read(event.action, link, event.data) and not (
                _contact_agrees(link, event.data, settings)
                and not responsible.news(settings, "contact", link, event.data, event.action)
            ):
                contact_ids.append(event.id)
        elif event.entity == "lead" and event.action in (
            "add",
            "update",
            "status",
            "restore",
            "responsible",
        ):
            link = link_find(system=SYSTEM, external_type=LEAD, external_id=str(event.id))
            if _to_read(event.action, link, event.data) and not (
                _lead_agrees(link, event.data)
                and not responsible.news(settings, "lead", link, event.data, event.action)
            ):
                lead_ids.append(event.id)
        elif event.entity == "lead" and event.action == "delete":
            deleted.append(event.id)
    contacts = list(client.contacts(ids=sorted(set(contact_ids)))) if contact_ids else []
    apply_contacts(connection, client, contacts, responsible_hints=hints["contact"])
    leads = list(client.leads(ids=sorted(set(lead_ids)))) if lead_ids else []
    apply_leads(connection, client, leads, responsible_hints=hints["lead"])
    for lead_id in deleted:
        _forget_deal(connection, lead_id)
    return {"contacts": len(contacts), "leads": len(leads), "deleted": len(deleted)}


def _as_read(data: dict[str, Any]) -> dict[str, Any]:
    """A webhook's (v2) contact in the shape the API (v4) reads it, for ``contact_values``."""
    return {
        "name": data.get("name") or "",
        "custom_fields_values": [
            {
                "field_id": field.get("id"),
                "field_code": field.get("code") or None,
                "values": [
                    {"value": value.get("value"), "enum_id": value.get("enum")}
                    for value in field.get("values") or []
                ],
            }
            for field in data.get("custom_fields") or []
        ],
    }


def _contact_agrees(link: ExternalLink | None, data: dict, settings: AmoSettings) -> bool:
    """The webhook's snapshot of a linked contact carries nothing new in the fields that
    flow in (the echo of our own write, a change of a field we do not take): no need to
    read it again. Anything else is read (the snapshot may be stale; the API is the truth)."""
    if link is None or not data.get("name"):
        return False
    for name, value in payloads.contact_values(_as_read(data), settings).items():
        synced = link.synced_values.get(name)
        if settings.flows_in(name) and value != synced and (value or synced):
            return False
    return True


def _lead_agrees(link: ExternalLink | None, data: dict) -> bool:
    """A linked deal still at the stage both sides agreed on: only the stage flows in."""
    status = data.get("status_id")
    return bool(link and status and link.synced_values.get("status_id") == status)


def _forget_deal(connection: Connection, lead_id: int) -> None:
    link = link_find(system=SYSTEM, external_type=LEAD, external_id=str(lead_id))
    if link is None:
        return
    visit_id = link.object_id
    link.delete()
    _log(
        connection,
        "lead.deleted",
        "visit",
        visit_id,
        SyncResult.OK,
        changes={"lead": [lead_id, None]},
    )


# --- Contacts -----------------------------------------------------------------------------


def apply_contacts(
    connection: Connection,
    client: AmoClient,
    contacts: list[dict],
    *,
    responsible_hints: set[int] | frozenset[int] = frozenset(),
) -> None:
    for contact in contacts:
        if contact.get("is_deleted"):
            continue
        try:
            with transaction.atomic():
                link = link_find(
                    system=SYSTEM, external_type=CONTACT, external_id=str(contact["id"])
                )
                if link is not None:
                    _update_patient(
                        connection,
                        client.settings,
                        link,
                        contact,
                        hinted=contact["id"] in responsible_hints,
                    )
                else:
                    _match_patient(connection, client, contact)
        except ValidationError as error:
            _log(
                connection,
                "contact.apply",
                "contact",
                contact["id"],
                SyncResult.FAILED,
                error="; ".join(error.messages),
            )


def _update_patient(
    connection: Connection,
    settings: AmoSettings,
    link: ExternalLink,
    contact: dict,
    *,
    hinted: bool = False,
) -> None:
    if _is_echo(link, contact.get("updated_at")):
        return
    patient = Patient.all_objects.filter(pk=int(link.object_id)).first()
    if patient is None:
        return
    responsible.note_incoming(
        connection, settings, kind="contact", entity=contact, link=link, hinted=hinted
    )
    remote = payloads.contact_values(contact, settings)
    local = payloads.patient_values(patient)
    remote_at = remote_time(contact.get("updated_at"))
    agreed: dict[str, Any] = {}
    incoming: dict[str, Any] = {}
    for name, value in remote.items():
        if not settings.flows_in(name) or value == link.synced_values.get(name):
            continue  # not ours to take, or amoCRM did not change it
        if value == "" and not link.synced_values.get(name):
            continue  # amoCRM has nothing and never had: not a reason to clear Odonta's value
        if value == local.get(name):
            agreed[name] = value
            continue
        odonta_changed = local.get(name) != link.synced_values.get(name)
        if (
            settings.owners.get(name) == "both"
            and odonta_changed
            and remote_at is not None
            and patient.updated_at > remote_at
        ):
            continue  # both changed it and Odonta's change is the later one: it is pushed
        if name == "full_name" and not payloads.split_name(value):
            continue
        incoming[name] = value
    if incoming:
        patient_services.patient_update(
            patient=patient, by=None, data=payloads.patient_data(incoming)
        )
    link_synced(link, {**agreed, **incoming}, contact.get("updated_at"))
    if incoming:
        _log(
            connection,
            "contact.update",
            "patient",
            patient.pk,
            SyncResult.OK,
            changes={name: [local.get(name), value] for name, value in incoming.items()},
            request_id=str(contact["id"]),
        )


def _match_patient(connection: Connection, client: AmoClient, contact: dict) -> None:
    """An unlinked contact: its MIS ID, then its phones; a family's phone waits for a
    decision; nothing found makes a new patient."""
    settings = client.settings
    mis_id = payloads.contact_mis_id_value(contact, settings)
    if mis_id.isdigit() and int(mis_id) < CARD_NUMBER_MAX:
        patient = Patient.objects.filter(card_number=int(mis_id)).first()
        if patient is not None and not _patient_linked(patient.pk):
            link_contact(connection, client, contact, patient=patient, by=None)
            return
    phones = payloads.contact_phones(contact)
    if phones:
        sharing = list(Patient.objects.filter(phone__in=phones).values_list("pk", flat=True)[:20])
        free = [pk for pk in sharing if not _patient_linked(pk)]
        if len(sharing) > 1 or (sharing and not free):
            open_for_contact(connection, contact, candidates=free, reason="shared_phone")
            return
        if free:
            patient = Patient.objects.get(pk=free[0])
            link_contact(connection, client, contact, patient=patient, by=None)
            return
    link_contact(connection, client, contact, patient=None, by=None)


def _patient_linked(patient_id: int) -> bool:
    from integrations.amocrm.outbound import links_of

    return bool(links_of(Patient, [patient_id]))


def link_contact(
    connection: Connection, client: AmoClient, contact: dict, *, patient: Patient | None, by
) -> Patient:
    """Link ``contact`` to ``patient`` (or to a new patient made of it) and write the MIS ID
    back to amoCRM at once; Odonta's values of the fields it owns are then pushed."""
    settings = client.settings
    remote = payloads.contact_values(contact, settings)
    created = patient is None
    if patient is not None:
        # The push of this patient may be making its contact right now: it holds the row.
        Patient.all_objects.select_for_update().filter(pk=patient.pk).first()
        existing = link_for(system=SYSTEM, obj=patient)
        if existing is not None and existing.external_id == str(contact["id"]):
            return patient  # linked by that push: nothing left to do
        if existing is not None:
            raise ValidationError(_("The patient was linked to another contact meanwhile."))
    if patient is None:
        data = payloads.patient_data({"full_name": contact.get("name") or _("(no name)"), **remote})
        patient = patient_services.patient_create(by=by, data=data, confirm_duplicate=True)
    answer = client.update_contacts(
        [
            {
                "id": int(contact["id"]),
                **payloads.contact_body({}, settings, mis_id=payloads.contact_mis_id(patient)),
            }
        ]
    )[0]
    synced = payloads.patient_values(patient) if created else remote
    link_make(
        patient,
        CONTACT,
        contact["id"],
        synced,
        answer.get("updated_at") or contact.get("updated_at"),
    )
    queue.queue(SYSTEM, "patient", [patient.pk])
    _log(
        connection,
        "contact.create_patient" if created else "contact.link",
        "patient",
        patient.pk,
        SyncResult.OK,
        changes={"contact": [None, contact["id"]]},
        request_id=str(contact["id"]),
    )
    return patient


# --- Deals --------------------------------------------------------------------------------


def apply_leads(
    connection: Connection,
    client: AmoClient,
    leads: list[dict],
    *,
    responsible_hints: set[int] | frozenset[int] = frozenset(),
) -> None:
    for lead in leads:
        try:
            with transaction.atomic():
                _apply_lead(
                    connection, client.settings, lead, hinted=lead.get("id") in responsible_hints
                )
        except ValidationError as error:
            _log(
                connection,
                "lead.status",
                "visit",
                "",
                SyncResult.FAILED,
                error="; ".join(error.messages),
                request_id=str(lead.get("id")),
            )


def _recover_link(lead: dict, settings: AmoSettings) -> ExternalLink | None:
    """A deal Odonta made whose answer was lost carries its visit's MIS ID: link it now."""
    values = payloads._custom_values(lead, settings.lead_fields.get("mis_id"), payloads.MIS_ID_CODE)
    mis_id = str(values[0].get("value") or "") if values else ""
    if not (mis_id.startswith("V") and mis_id[1:].isdigit() and len(mis_id) < 19):
        return None
    appointment = Appointment.all_objects.filter(pk=int(mis_id[1:])).first()
    if appointment is None:
        return None
    from integrations.amocrm.outbound import links_of

    if links_of(Appointment, [appointment.pk]):
        return None
    return link_make(appointment, LEAD, lead["id"], {}, None)


def _apply_lead(
    connection: Connection, settings: AmoSettings, lead: dict, *, hinted: bool = False
) -> None:
    link = link_find(system=SYSTEM, external_type=LEAD, external_id=str(lead["id"]))
    if link is None:
        link = _recover_link(lead, settings)
        if link is None:
            return  # a deal that is not a visit's
        queue.queue(SYSTEM, "visit", [int(link.object_id)])
    if _is_echo(link, lead.get("updated_at")):
        return
    appointment = Appointment.all_objects.filter(pk=int(link.object_id)).first()
    if appointment is None:
        return
    responsible.note_incoming(
        connection,
        settings,
        kind="lead",
        entity=lead,
        link=link,
        hinted=hinted,
        patient_id=appointment.patient_id,
    )
    stage = lead.get("status_id")
    in_pipeline = not settings.pipeline_id or lead.get("pipeline_id") == settings.pipeline_id
    target = settings.stage_to_status.get(str(stage)) if in_pipeline else None
    seen = {"status_id": stage}
    if target is None or target == appointment.status:
        if target is not None:
            seen["visit_status"] = target
        link_synced(link, seen, lead.get("updated_at"))
        return
    current = "cancelled" if appointment.deleted_at else appointment.status
    if target not in INBOUND_ALLOWED.get(current, set()) or appointment.deleted_at:
        # Refused: logged, and the deal goes back to the stage of the visit's real status.
        link_synced(link, {**seen, "visit_status": ""}, lead.get("updated_at"))
        queue.queue(SYSTEM, "visit", [appointment.pk])
        _log(
            connection,
            "lead.status",
            "visit",
            appointment.pk,
            SyncResult.SKIPPED,
            changes={"status": [current, target]},
            error=f"Refused: a visit that is {current} cannot become {target}.",
            request_id=str(lead["id"]),
        )
        return
    if target == "cancelled":
        reason = _("Cancelled in amoCRM")
        calendar_services.appointment_cancel(appointment=appointment, by=None, reason=reason)
    else:
        calendar_services.appointment_set_status(appointment=appointment, by=None, status=target)
    link_synced(link, {**seen, "visit_status": target}, lead.get("updated_at"))
    _log(
        connection,
        "lead.status",
        "visit",
        appointment.pk,
        SyncResult.OK,
        changes={"status": [current, target]},
        request_id=str(lead["id"]),
    )
