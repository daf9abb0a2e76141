"""Domain-event handlers of the patients app (registered in ``registrations``)."""

import datetime

from django.db import transaction
from django.utils.dateparse import parse_datetime

from clinic import live
from clinic.events import subscriber
from clinic.models import OutboxEvent
from patients.models import Patient, PatientEvent
from patients.services import patient_record_activity

# Events of every app that belong on a patient's timeline.
TIMELINE_EVENTS = (
    "patient.*",
    "family.*",
    "appointment.*",
    "waitlist.*",
    "plan.*",
    "treatment_plan.*",
    "invoice.*",
    "payment.*",
    "deposit.*",
    "tax_certificate.*",
    "message.*",
    "call.*",
    "document.*",
    "chart.*",
    "medical_record.*",
    "orthodontic_card.*",
    "image.*",
    "perio_exam.*",
)


def patient_id_of(event: OutboxEvent) -> int | None:
    patient_id = event.payload.get("patient_id")
    if patient_id is None and event.aggregate_type == "patients.patient":
        patient_id = event.aggregate_id
    try:
        return int(patient_id) if patient_id is not None else None
    except (TypeError, ValueError):
        return None


@subscriber(*TIMELINE_EVENTS)
def timeline_record(event: OutboxEvent) -> None:
    patient_id = patient_id_of(event)
    if patient_id is None:
        return
    found = list(Patient.all_objects.filter(pk=patient_id).values_list("deleted_at", flat=True))
    if not found:
        return
    actor = event.actor
    PatientEvent.objects.bulk_create(
        [
            PatientEvent(
                patient_id=patient_id,
                source_event_id=event.pk,
                name=event.name,
                occurred_at=event.created_at,
                actor_name=str(actor) if actor else "",
                payload=event.payload,
            )
        ],
        ignore_conflicts=True,
    )
    # An open card shows its events as they come (the handler runs after the change commits,
    # in a worker: a page cannot know when). A deleted card has no page to refresh.
    if found[0] is None:
        transaction.on_commit(lambda: live.broadcast(f"patient.{patient_id}", {"timeline": True}))


# Statuses of a visit that mean the patient was at the clinic.
ATTENDED_STATUSES = {"arrived", "in_chair", "completed"}


@subscriber(
    "appointment.status_changed",
    "payment.created",
    "payment.received",
    "deposit.received",
    "invoice.issued",
)
def activity_track(event: OutboxEvent) -> None:
    patient_id = patient_id_of(event)
    if patient_id is None:
        return
    if (
        event.name == "appointment.status_changed"
        and event.payload.get("status") not in ATTENDED_STATUSES
    ):
        return
    when = event.payload.get("start") or event.payload.get("at")
    at = parse_datetime(when) if isinstance(when, str) else None
    patient_record_activity(
        patient_id=patient_id, at=at or event.created_at or datetime.datetime.now(datetime.UTC)
    )
