"""Odonta -> amoCRM: patients become contacts, visits become deals.

Called by the push task with the ids the queue hands out. Each push sends only what
differs from what both sides last agreed on (``ExternalLink.synced_values``), so an
unchanged patient costs no request and the echo of an incoming change is never sent back.

Matching a patient without a link: its MIS ID first (a create whose answer was lost),
then its phone, re-checked against the contacts' real phone values. A phone that several
patients share (a family) links nothing: the contact goes to the "needs a decision" list.
"""

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Sum

from calendar_app.models import Appointment, AppointmentService, StatusCode
from clinic.phones import phone_digits
from integrations import synclog
from integrations.amocrm import payloads
from integrations.amocrm.client import AmoClient
from integrations.amocrm.config import CONTACT, LEAD, LOST, SYSTEM, WON, AmoSettings
from integrations.http import IntegrationError
from integrations.models import Connection, ExternalLink, SyncResult
from patients.models import Patient

logger = logging.getLogger(__name__)


@dataclass
class PushResult:
    done: list[int] = field(default_factory=list)  # pushed, or nothing to push
    created: list[int] = field(default_factory=list)  # of the done: a new contact / deal
    linked: list[int] = field(default_factory=list)  # of the done: linked to an existing one
    waiting: list[int] = field(default_factory=list)  # left for a decision
    failed: dict[int, str] = field(default_factory=dict)


# ``synced_values["mis_id"]`` of a deal linked without its MIS ID written (the deal-card
# widget books a visit for a deal amoCRM made): the next push of the visit writes it.
MIS_ID_UNWRITTEN = ""


def links_of(model, object_ids) -> dict[int, ExternalLink]:
    content_type = ContentType.objects.get_for_model(model)
    return {
        int(link.object_id): link
        for link in ExternalLink.objects.filter(
            system=SYSTEM, content_type=content_type, object_id__in=[str(i) for i in object_ids]
        )
    }


def remote_taken(external_type: str, external_ids) -> set[str]:
    return set(
        ExternalLink.objects.filter(
            system=SYSTEM,
            external_type=external_type,
            external_id__in=[str(i) for i in external_ids],
        ).values_list("external_id", flat=True)
    )


def link_make(
    obj, external_type: str, external_id: int, synced: dict[str, Any], updated_at: Any = None
) -> ExternalLink:
    from integrations.amocrm.sync import remote_time

    content_type = ContentType.objects.get_for_model(obj)
    try:
        with transaction.atomic():
            return ExternalLink.objects.create(
                system=SYSTEM,
                content_type=content_type,
                object_id=str(obj.pk),
                external_type=external_type,
                external_id=str(external_id),
                synced_values=synced,
                remote_updated_at=remote_time(updated_at),
            )
    except IntegrityError:
        # The other direction linked the same pair a moment ago (a webhook about the
        # contact this push just made): that link is this one. Any other pair is a conflict.
        existing = ExternalLink.objects.filter(
            system=SYSTEM, content_type=content_type, object_id=str(obj.pk)
        ).first()
        if existing is None or existing.external_id != str(external_id):
            raise
        return existing


def links_make(rows: list[tuple[Any, str, Any, dict[str, Any], Any]]) -> list[ExternalLink]:
    """``link_make`` for many (object, external type, external id, synced, updated_at) rows
    in one statement: a batch's new contacts or deals. If one of them was linked meanwhile
    by the other direction, they are made one by one (``link_make`` sorts that out)."""
    from integrations.amocrm.sync import remote_time

    if not rows:
        return []
    try:
        with transaction.atomic():
            return ExternalLink.objects.bulk_create(
                [
                    ExternalLink(
                        system=SYSTEM,
                        content_type=ContentType.objects.get_for_model(obj),
                        object_id=str(obj.pk),
                        external_type=external_type,
                        external_id=str(external_id),
                        synced_values=synced,
                        remote_updated_at=remote_time(updated_at),
                    )
                    for obj, external_type, external_id, synced, updated_at in rows
                ]
            )
    except IntegrityError:
        return [link_make(*row) for row in rows]


def link_synced(link: ExternalLink, values: dict[str, Any], updated_at: Any = None) -> None:
    from integrations.amocrm.sync import remote_time

    link.synced_values = {**link.synced_values, **values}
    fields = ["synced_values", "updated_at"]
    if (moment := remote_time(updated_at)) is not None:
        link.remote_updated_at = moment
        fields.append("remote_updated_at")
    link.save(update_fields=fields)


def _log(connection, action: str, entity_type: str, entity_id, result: str, **kwargs) -> None:
    synclog.log(
        direction="out",
        system=SYSTEM,
        connection=connection,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        result=result,
        **kwargs,
    )


def _line(connection, action: str, entity_type: str, entity_id, result: str, **kwargs):
    """A line for ``synclog.log_many``: the lines of a batch are written together."""
    return synclog.entry(
        direction="out",
        system=SYSTEM,
        connection=connection,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        result=result,
        **kwargs,
    )


def _changes(values: dict[str, Any], before: dict[str, Any]) -> dict[str, list]:
    return {name: [before.get(name), value] for name, value in values.items()}


# --- Patients -----------------------------------------------------------------------------


def outgoing_patient_values(patient: Patient, settings: AmoSettings) -> dict[str, Any]:
    return {
        name: value
        for name, value in payloads.patient_values(patient).items()
        if settings.flows_out(name)
    }


def _write_each(write, items: list[dict[str, Any]]) -> list[dict[str, Any] | IntegrationError]:
    """A batch write; when amoCRM refuses the batch (a 400 on one item), each item alone, so
    one bad record does not hold back the rest."""
    try:
        return list(write(items))
    except IntegrationError as error:
        if error.status not in (400, 422) or len(items) == 1:
            raise
    results: list[dict[str, Any] | IntegrationError] = []
    for item in items:
        try:
            results.extend(write([item]))
        except IntegrationError as error:
            if error.status not in (400, 422):
                raise
            results.append(error)
    return results


def push_patients(
    connection: Connection,
    client: AmoClient,
    patient_ids: list[int],
    *,
    matcher=None,
) -> PushResult:
    """Create, link or update the contacts of these patients (in one transaction holding the
    patients' rows, so a visit's push cannot create the same contact at the same time)."""
    from integrations.amocrm import decisions

    settings = client.settings
    result = PushResult()
    with transaction.atomic():
        patients = list(
            Patient.all_objects.select_for_update(of=("self",))
            .filter(pk__in=patient_ids)
            .order_by("pk")
        )
        found = {patient.pk for patient in patients}
        result.done += [pk for pk in patient_ids if pk not in found]
        links = links_of(Patient, found)
        updates: list[tuple[Patient, ExternalLink, dict[str, Any]]] = []
        creates: list[tuple[Patient, dict[str, Any]]] = []
        for patient in patients:
            values = outgoing_patient_values(patient, settings)
            link = links.get(patient.pk)
            if link is not None:
                diff = {k: v for k, v in values.items() if link.synced_values.get(k) != v}
                if diff:
                    updates.append((patient, link, diff))
                else:
                    result.done.append(patient.pk)
                continue
            if patient.deleted_at is not None:
                result.done.append(patient.pk)
                continue
            kind, match = (matcher or _match_contact)(client, patient)
            if kind == "create" or match is None:
                creates.append((patient, values))
            elif kind == "decision":
                result.waiting.append(patient.pk)
                decisions.open_for_contact(
                    connection,
                    match,
                    candidates=list(
                        Patient.objects.filter(phone=patient.phone).values_list("pk", flat=True)
                    ),
                    reason="shared_phone",
                )
                _log(
                    connection,
                    "contact.match",
                    "patient",
                    patient.pk,
                    SyncResult.SKIPPED,
                    error="Several patients share this phone: waits for a decision.",
                )
            else:
                result.linked.append(patient.pk)
                link = link_make(
                    patient,
                    CONTACT,
                    match["id"],
                    payloads.contact_values(match, settings),
                    match.get("updated_at"),
                )
                diff = {k: v for k, v in values.items() if link.synced_values.get(k) != v}
                updates.append(
                    (patient, link, {**diff, "mis_id": payloads.contact_mis_id(patient)})
                )
                _log(
                    connection,
                    "contact.link",
                    "patient",
                    patient.pk,
                    SyncResult.OK,
                    changes={"contact": [None, match["id"]]},
                )
        if updates:
            bodies = []
            for _patient, link, diff in updates:
                mis_id = diff.pop("mis_id", None)
                bodies.append(
                    {
                        "id": int(link.external_id),
                        **payloads.contact_body(diff, settings, mis_id=mis_id),
                    }
                )
            answers = _write_each(client.update_contacts, bodies)
            for (patient, link, diff), answer in zip(updates, answers, strict=True):
                if isinstance(answer, IntegrationError):
                    result.failed[patient.pk] = str(answer)
                    _log(
                        connection,
                        "contact.update",
                        "patient",
                        patient.pk,
                        SyncResult.FAILED,
                        error=f"{answer} {answer.body}",
                    )
                    continue
                link_synced(link, diff, answer.get("updated_at"))
                result.done.append(patient.pk)
                _log(
                    connection,
                    "contact.update",
                    "patient",
                    patient.pk,
                    SyncResult.OK,
                    changes=_changes(diff, {}),
                    request_id=str(link.external_id),
                )
        if creates:
            bodies = [
                payloads.contact_body(values, settings, mis_id=payloads.contact_mis_id(patient))
                for patient, values in creates
            ]
            answers = _write_each(client.create_contacts, bodies)
            _record_creates(
                connection,
                result,
                [(patient, values, values) for patient, values in creates],
                answers,
                external_type=CONTACT,
                entity_type="patient",
            )
    return result


def _match_contact(client: AmoClient, patient: Patient) -> tuple[str, dict[str, Any] | None]:
    """("link", the unlinked contact this patient already is), ("decision", the contact)
    when that is not for the sync to say (a phone several patients share), or
    ("create", None)."""
    mis_id = payloads.contact_mis_id(patient)
    field_id = client.settings.contact_fields.get("mis_id")
    found = client.find_by_mis_id("contacts", mis_id, field_id=field_id)
    if found is not None and not remote_taken(CONTACT, [found["id"]]):
        return "link", found
    if not patient.phone:
        return "create", None
    candidates = [
        contact
        for contact in client.contacts(query=phone_digits(patient.phone)[-10:])
        if patient.phone in payloads.contact_phones(contact)
    ]
    free = [
        c
        for c in candidates
        if str(c["id"]) not in remote_taken(CONTACT, [c["id"] for c in candidates])
    ]
    if not free:
        return "create", None
    contact = min(free, key=lambda contact: contact["id"])
    if Patient.objects.filter(phone=patient.phone).count() > 1:
        return "decision", contact
    return "link", contact


# --- Visits -------------------------------------------------------------------------------


def visit_amounts(appointments: list[Appointment]) -> dict[int, Decimal]:
    """What each visit is worth on the deal: the issued invoices of a completed visit, else
    the booked services."""
    from billing.models import Invoice, InvoiceStatus

    completed = [a.pk for a in appointments if a.status == "completed"]
    invoiced = dict(
        Invoice.objects.filter(appointment_id__in=completed, status=InvoiceStatus.ISSUED)
        .values_list("appointment_id")
        .annotate(total=Sum("total"))
        .values_list("appointment_id", "total")
    )
    amounts = {}
    for appointment in appointments:
        if appointment.pk in invoiced:
            amounts[appointment.pk] = invoiced[appointment.pk] or Decimal(0)
        else:
            lines = appointment.lines_for_sync  # type: ignore[attr-defined]
            amounts[appointment.pk] = sum(
                (line.price * line.quantity for line in lines), Decimal(0)
            )
    return amounts


def outgoing_visit_values(appointment, amount: Decimal, settings: AmoSettings) -> dict[str, Any]:
    return payloads.visit_values(
        appointment,
        lines=appointment.lines_for_sync,  # type: ignore[attr-defined]
        amount=amount,
        settings=settings,
    )


def push_visits(
    connection: Connection,
    client: AmoClient,
    appointment_ids: list[int],
    *,
    deal_finder=None,
) -> PushResult:
    settings = client.settings
    result = PushResult()
    appointments: list[Appointment] = list(
        Appointment.all_objects.filter(pk__in=appointment_ids)
        .select_related("patient", "doctor", "branch")
        .prefetch_related(
            Prefetch(
                "service_lines",
                queryset=AppointmentService.objects.select_related("service").order_by("pk"),
                to_attr="lines_for_sync",
            )
        )
    )
    found = {a.pk for a in appointments}
    result.done += [pk for pk in appointment_ids if pk not in found]
    links = links_of(Appointment, found)
    patient_links = links_of(Patient, {a.patient_id for a in appointments})
    missing = sorted({a.patient_id for a in appointments if a.patient_id not in patient_links})
    if missing:
        pushed = push_patients(connection, client, missing)
        patient_links.update(links_of(Patient, pushed.done))
    amounts = visit_amounts(appointments)
    updates: list[tuple[Appointment, ExternalLink, dict[str, Any]]] = []
    creates: list[tuple[Appointment, dict[str, Any], int]] = []
    for appointment in appointments:
        values = outgoing_visit_values(appointment, amounts[appointment.pk], settings)
        link = links.get(appointment.pk)
        if link is not None:
            if settings.responsible_flows_out("lead"):
                # A linked deal's responsible is the responsible sync's (``responsible.py``).
                values.pop("responsible_user_id", None)
            diff = {k: v for k, v in values.items() if link.synced_values.get(k) != v}
            if link.synced_values.get("mis_id") == MIS_ID_UNWRITTEN:
                diff["mis_id"] = payloads.lead_mis_id(appointment)
            if "visit_status" in diff and payloads.is_closed(
                payloads.stage_for(diff["visit_status"], settings)
            ):
                diff.setdefault("price", values["price"])  # a won deal carries the invoiced sum
            if diff:
                updates.append((appointment, link, diff))
            else:
                result.done.append(appointment.pk)
            continue
        contact_link = patient_links.get(appointment.patient_id)
        if contact_link is None:
            result.waiting.append(appointment.pk)
            _log(
                connection,
                "lead.create",
                "visit",
                appointment.pk,
                SyncResult.SKIPPED,
                error="The patient is not linked to a contact yet.",
            )
            continue
        # A visit with no deal that is deleted or cancelled gets none: a deal only to be
        # lost is noise (and a visit the deal card booked over has given its deal away).
        if appointment.deleted_at is not None or appointment.status == StatusCode.CANCELLED:
            result.done.append(appointment.pk)
            continue
        deal = (deal_finder or _open_deal)(client, int(contact_link.external_id))
        if deal is not None:
            result.linked.append(appointment.pk)
            link = link_make(appointment, LEAD, deal["id"], {}, deal.get("updated_at"))
            updates.append(
                (appointment, link, {**values, "mis_id": payloads.lead_mis_id(appointment)})
            )
            _log(
                connection,
                "lead.link",
                "visit",
                appointment.pk,
                SyncResult.OK,
                changes={"lead": [None, deal["id"]]},
            )
        else:
            creates.append((appointment, values, int(contact_link.external_id)))
    if updates:
        bodies, mis_ids = [], []
        for _appointment, link, diff in updates:
            mis_ids.append(diff.pop("mis_id", None))
            bodies.append(
                {
                    "id": int(link.external_id),
                    **payloads.lead_body(diff, settings, mis_id=mis_ids[-1]),
                }
            )
        answers = _write_each(client.update_leads, bodies)
        for (appointment, link, diff), mis_id, answer in zip(
            updates, mis_ids, answers, strict=True
        ):
            if isinstance(answer, IntegrationError):
                result.failed[appointment.pk] = str(answer)
                _log(
                    connection,
                    "lead.update",
                    "visit",
                    appointment.pk,
                    SyncResult.FAILED,
                    error=f"{answer} {answer.body}",
                )
                continue
            written = _with_stage(diff, settings)
            if mis_id is not None:
                written = {**written, "mis_id": mis_id}
            link_synced(link, written, answer.get("updated_at"))
            result.done.append(appointment.pk)
            _log(
                connection,
                "lead.update",
                "visit",
                appointment.pk,
                SyncResult.OK,
                changes=_changes(diff, {}),
                request_id=str(link.external_id),
            )
    if creates:
        bodies = [
            payloads.lead_body(
                values, settings, mis_id=payloads.lead_mis_id(a), contact_id=contact_id
            )
            for a, values, contact_id in creates
        ]
        answers = _write_each(client.create_leads, bodies)
        _record_creates(
            connection,
            result,
            [(a, _with_stage(values, settings), values) for a, values, _contact in creates],
            answers,
            external_type=LEAD,
            entity_type="visit",
        )
    return result


def _record_creates(
    connection: Connection,
    result: PushResult,
    creates: list[tuple[Any, dict[str, Any], dict[str, Any]]],
    answers: list,
    *,
    external_type: str,
    entity_type: str,
) -> None:
    """A batch create's answers, per (object, values to remember, values to log): the new
    links and the log lines are written with one insert each."""
    action = f"{external_type}.create"
    made, lines = [], []
    for (obj, synced, logged), answer in zip(creates, answers, strict=True):
        if isinstance(answer, IntegrationError) or not answer.get("id"):
            error = str(answer) if isinstance(answer, IntegrationError) else "no id in the answer"
            result.failed[obj.pk] = error
            lines.append(
                _line(connection, action, entity_type, obj.pk, SyncResult.FAILED, error=error)
            )
            continue
        made.append((obj, external_type, answer["id"], synced, answer.get("updated_at")))
        result.done.append(obj.pk)
        result.created.append(obj.pk)
        lines.append(
            _line(
                connection,
                action,
                entity_type,
                obj.pk,
                SyncResult.OK,
                changes=_changes(logged, {}),
                request_id=str(answer["id"]),
            )
        )
    links_make(made)
    synclog.log_many(lines)


def _with_stage(values: dict[str, Any], settings: AmoSettings) -> dict[str, Any]:
    """The values as written: with the stage the visit's status sent the deal to."""
    if "visit_status" not in values:
        return values
    return {**values, **payloads.status_fields(values["visit_status"], settings)}


def _open_deal(client: AmoClient, contact_id: int) -> dict[str, Any] | None:
    """The contact's open deal in the clinic's pipeline that no visit has yet (the newest),
    as the integrator's document finds it: the deal the manager booked the patient from."""
    contact = client.contact(contact_id)
    lead_ids = [
        int(lead["id"])
        for lead in ((contact or {}).get("_embedded") or {}).get("leads") or []
        if lead.get("id")
    ]
    if not lead_ids:
        return None
    taken = remote_taken(LEAD, lead_ids)
    open_deals = [
        lead
        for lead in client.leads(ids=lead_ids)
        if str(lead["id"]) not in taken
        and lead.get("status_id") not in (WON, LOST)
        and (
            not client.settings.pipeline_id
            or lead.get("pipeline_id") == client.settings.pipeline_id
        )
    ]
    if not open_deals:
        return None
    return max(open_deals, key=lambda lead: (lead.get("updated_at") or 0, lead["id"]))
