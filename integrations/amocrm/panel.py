"""What the deal card's panel does (``views_widget``): the deal's visit, the patient of the
deal's contact, booking a visit for the deal, cancelling it (the deal is lost).

Visits are booked, edited and cancelled only through the calendar's services, so the
audit, the domain events (and with them the usual push to amoCRM) and the live calendar
stay the same as for a booking made at the front desk.
"""

import logging
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from calendar_app import services as calendar
from calendar_app.models import Appointment, StatusCode
from integrations import synclog
from integrations.amocrm import inbound
from integrations.amocrm.client import AmoClient
from integrations.amocrm.config import CONTACT, LEAD, LOST, SYSTEM
from integrations.amocrm.outbound import MIS_ID_UNWRITTEN, link_make, link_synced
from integrations.http import IntegrationError
from integrations.links import link_find
from integrations.models import Connection, ExternalLink, SyncResult
from patients.models import Patient

logger = logging.getLogger(__name__)

CLOSE_ACTION = "lead.close_lost"


def lead_visit_id(lead_id: int) -> int | None:
    """The id of the visit linked to the deal (alive or in the recycle bin), or None."""
    link = link_find(system=SYSTEM, external_type=LEAD, external_id=str(lead_id))
    if link is None or not link.object_id.isdigit():
        return None
    return int(link.object_id)


def lead_patient(connection: Connection, client: AmoClient, lead_id: int) -> Patient:
    """The patient of the deal's main contact: linked already, else matched or made and
    linked as an incoming contact is (``inbound``). ``ValidationError`` when the deal has no
    contact or the contact waits for a decision."""
    lead = client.lead(lead_id)
    if lead is None:
        raise ValidationError(_("amoCRM has no such deal (it may have been deleted)."))
    contacts = (lead.get("_embedded") or {}).get("contacts") or []
    main = next((c for c in contacts if c.get("is_main")), contacts[0] if contacts else None)
    if main is None or not main.get("id"):
        raise ValidationError(_("The deal has no contact: add the patient's contact to it first."))
    patient = _linked_patient(main["id"])
    if patient is not None:
        return patient
    contact = client.contact(int(main["id"]))
    if contact is None:
        raise ValidationError(_("amoCRM has no such contact (it may have been deleted)."))
    with transaction.atomic():
        inbound._match_patient(connection, client, contact)
    patient = _linked_patient(main["id"])
    if patient is None:
        raise ValidationError(
            _(
                "Several patients share this contact's phone: choose the patient in Odonta "
                "(amoCRM -> Needs a decision), then book."
            )
        )
    return patient


def _linked_patient(contact_id: Any) -> Patient | None:
    link = link_find(system=SYSTEM, external_type=CONTACT, external_id=str(contact_id))
    if link is None or not link.object_id.isdigit():
        return None
    return Patient.objects.filter(pk=int(link.object_id)).first()


def visit_replaceable(visit_id: int) -> bool:
    """A deal's visit that was cancelled or deleted: the deal may get a new one ("Book
    again": the patient called back)."""
    old = Appointment.all_objects.filter(pk=visit_id).values("status", "deleted_at").first()
    return old is None or old["deleted_at"] is not None or old["status"] == StatusCode.CANCELLED


def lead_bookable(lead_id: int) -> bool:
    visit_id = lead_visit_id(lead_id)
    return visit_id is None or visit_replaceable(visit_id)


@transaction.atomic
def lead_visit_book(*, lead_id: int, by, patient: Patient, **booking: Any) -> Appointment:
    """Book a visit for the deal and link them at once, so the usual push updates this deal
    instead of making another one. A deal whose visit was cancelled or deleted takes the new
    one: the link moves to it, and the push sends the whole visit (the deal leaves "closed -
    lost" for the new visit's stage); the old visit keeps no deal."""
    link = (
        ExternalLink.objects.select_for_update()
        .filter(system=SYSTEM, external_type=LEAD, external_id=str(lead_id))
        .first()
    )
    if link is not None and not (
        link.object_id.isdigit() and visit_replaceable(int(link.object_id))
    ):
        raise ValidationError(_("This deal has a visit already."))
    appointment = calendar.appointment_book(by=by, patient=patient, source="amocrm", **booking)
    if link is not None:
        previous = link.object_id
        link.object_id = str(appointment.pk)
        link.synced_values = {"mis_id": MIS_ID_UNWRITTEN}
        link.remote_updated_at = None
        link.save(update_fields=["object_id", "synced_values", "remote_updated_at", "updated_at"])
        synclog.log(
            system=SYSTEM,
            direction="out",
            action="lead.rebook",
            entity_type="visit",
            entity_id=appointment.pk,
            result=SyncResult.OK,
            changes={"visit": [previous, appointment.pk]},
            request_id=str(lead_id),
        )
        return appointment
    try:
        with transaction.atomic():
            link_make(appointment, LEAD, lead_id, {"mis_id": MIS_ID_UNWRITTEN}, None)
    except IntegrityError:
        raise ValidationError(_("This deal got a visit meanwhile.")) from None
    return appointment


def lead_visit_cancel(
    *, connection: Connection, appointment: Appointment, by, reason: str, lead_id: int
) -> Appointment:
    """Cancel the visit (the calendar's service) and move the deal to "closed - lost" (143),
    whatever stage the clinic maps a cancelled visit to: a manager who cancels in the deal
    card closes the deal. The link remembers the visit as cancelled, so the push does not
    move the deal on; amoCRM's answer is written after the commit (``deal_close_lost``)."""
    with transaction.atomic():
        current = calendar.appointment_cancel(appointment=appointment, by=by, reason=reason)
        link = link_find(system=SYSTEM, external_type=LEAD, external_id=str(lead_id))
        if link is not None:
            link_synced(link, {"visit_status": "cancelled"})
    deal_close_lost(connection, lead_id=lead_id, visit_id=current.pk)
    return current


def deal_close_lost(connection: Connection, *, lead_id: int, visit_id: int) -> bool:
    """Move the deal to "closed - lost" with the clinic's loss reason; a failure is logged
    (and retried from the sync log), never raised. True when amoCRM took it."""
    from integrations.amocrm.sync import client_for, stop_if_refused

    client = client_for(connection)
    settings = client.settings
    body: dict[str, Any] = {"id": lead_id, "status_id": LOST}
    if settings.pipeline_id:
        body["pipeline_id"] = settings.pipeline_id
    if settings.loss_reason_id:
        body["loss_reason_id"] = settings.loss_reason_id
    logged: dict[str, Any] = {
        "connection": connection,
        "system": SYSTEM,
        "direction": "out",
        "action": CLOSE_ACTION,
        "entity_type": "visit",
        "entity_id": visit_id,
        "request_id": str(lead_id),
    }
    try:
        with client:
            answer = client.update_leads([body])[0]
    except IntegrationError as error:
        stop_if_refused(connection, error)
        synclog.log(**logged, result=SyncResult.FAILED, error=str(error))
        return False
    link = link_find(system=SYSTEM, external_type=LEAD, external_id=str(lead_id))
    if link is not None:
        link_synced(link, {"status_id": LOST}, answer.get("updated_at"))
    synclog.log(**logged, result=SyncResult.OK, changes={"status_id": [None, LOST]})
    return True


def retry_close_lost(entry) -> None:
    """The sync log's retry of a failed ``lead.close_lost``."""
    from integrations.amocrm.sync import active_connection

    connection = active_connection()
    if connection is None or not entry.entity_id.isdigit() or not entry.request_id.isdigit():
        return
    deal_close_lost(connection, lead_id=int(entry.request_id), visit_id=int(entry.entity_id))


def lines_total(lines: list) -> Decimal:
    return sum((line.price * line.quantity for line in lines), Decimal(0))
