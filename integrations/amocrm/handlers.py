"""Domain events that put patients and visits into the amoCRM push queue.

Handlers only queue (in the event's dispatch transaction) and start the push task after
commit; the push itself talks to amoCRM. With no connected, set-up amoCRM they do nothing
and nothing is queued (an initial sync brings the existing records over later).
"""

import logging

from django.db import transaction

from clinic import jobs
from clinic.courier import courier
from clinic.events import subscriber
from clinic.models import OutboxEvent
from integrations import queue
from integrations.amocrm.config import SYSTEM, AmoSettings
from integrations.amocrm.sync import active_connection

PATIENT_FIELDS = {"last_name", "first_name", "middle_name", "phone", "birth_date", "gender"}


logger = logging.getLogger(__name__)


def _enqueue_push() -> None:
    from integrations.amocrm.tasks import amocrm_push

    try:
        jobs.start_now(amocrm_push)
    except Exception:  # the broker is down: the beat's push picks the queue up
        logger.warning("Could not start the amoCRM push; the next beat will")


def _start_push() -> None:
    transaction.on_commit(lambda: courier.deliver(_enqueue_push))


@subscriber("patient.created", "patient.updated", "patient.imported", "patient.import_updated")
def queue_patient(event: OutboxEvent) -> None:
    changed = event.payload.get("changed")
    if changed is not None and not PATIENT_FIELDS.intersection(changed):
        return
    if active_connection() is None:
        return
    queue.queue(SYSTEM, "patient", [int(event.aggregate_id)])
    _start_push()


@subscriber("patient.created", "patient.updated")
def queue_responsible(event: OutboxEvent) -> None:
    """A coordinator set or changed: the responsible sync may write it (``responsible.py``
    decides; the sync's own writes of amoCRM's changes find nothing to send)."""
    changed = event.payload.get("changed")
    if changed is None and not event.payload.get("coordinator"):
        return
    if changed is not None and "coordinator" not in changed:
        return
    connection = active_connection()
    if connection is None or not any(AmoSettings.of(connection).responsible_out.values()):
        return
    queue.queue(SYSTEM, "responsible", [int(event.aggregate_id)])
    _start_push()


@subscriber(
    "appointment.created",
    "appointment.updated",
    "appointment.status_changed",
    "appointment.cancelled",
)
def queue_visit(event: OutboxEvent) -> None:
    if active_connection() is None:
        return
    queue.queue(SYSTEM, "visit", [int(event.aggregate_id)])
    _start_push()


@subscriber("invoice.issued", "invoice.rolled_back")
def queue_invoiced_visit(event: OutboxEvent) -> None:
    appointment_id = event.payload.get("appointment_id")
    if not appointment_id or active_connection() is None:
        return
    queue.queue(SYSTEM, "visit", [int(appointment_id)])
    _start_push()
