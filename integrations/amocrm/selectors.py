"""Reads of the amoCRM pages: the integration's health, the decisions waiting for a person."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count
from django.utils import timezone

from integrations.amocrm import usage
from integrations.amocrm.config import CONTACT, LEAD, SYSTEM
from integrations.models import (
    Connection,
    DecisionStatus,
    ExternalLink,
    InboundWebhook,
    SyncDecision,
    SyncLogEntry,
    SyncResult,
    WebhookStatus,
)


@dataclass
class Health:
    contacts: int
    leads: int
    pending: int
    failed: int
    decisions: int
    last_webhook_at: datetime.datetime | None
    last_reconcile_at: datetime.datetime | None
    requests_today: int


def integration_health(connection: Connection) -> Health:
    """The integration page's figures, in a fixed number of queries whatever the data."""
    links = dict(
        ExternalLink.objects.filter(system=SYSTEM, external_type__in=(CONTACT, LEAD))
        .values_list("external_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    webhooks = InboundWebhook.objects.filter(system=SYSTEM)
    # The newest by id (the primary key's index), not a scan for the latest received_at.
    last_webhook = webhooks.order_by("-id").values_list("received_at", flat=True).first()
    day_ago = timezone.now() - datetime.timedelta(hours=24)
    return Health(
        contacts=links.get(CONTACT, 0),
        leads=links.get(LEAD, 0),
        pending=webhooks.exclude(status=WebhookStatus.PROCESSED).count(),
        failed=SyncLogEntry.objects.filter(
            system=SYSTEM, result=SyncResult.FAILED, created_at__gte=day_ago
        ).count(),
        decisions=SyncDecision.objects.filter(system=SYSTEM, status=DecisionStatus.OPEN).count(),
        last_webhook_at=last_webhook,
        last_reconcile_at=_from_unix(connection.settings.get("last_reconcile_at")),
        requests_today=usage.requests_today(connection.pk),
    )


def _from_unix(value: Any) -> datetime.datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def open_decisions():
    return SyncDecision.objects.filter(system=SYSTEM, status=DecisionStatus.OPEN).order_by(
        "-created_at", "-id"
    )


def remote_contact(payload: Any) -> dict[str, str]:
    """The name and phone of a remote contact as the sync stored it: a contact of API v4
    (``name``, a ``PHONE`` custom field), or plain ``name`` / ``phone`` keys."""
    if not isinstance(payload, dict):
        return {"name": "", "phone": ""}
    name = payload.get("name") or " ".join(
        str(payload.get(key) or "") for key in ("last_name", "first_name") if payload.get(key)
    )
    phone = payload.get("phone") or ""
    for field in payload.get("custom_fields_values") or []:
        if phone or not isinstance(field, dict):
            break
        if str(field.get("field_code") or "").upper() == "PHONE":
            values = field.get("values") or []
            if values and isinstance(values[0], dict):
                phone = values[0].get("value") or ""
    return {"name": str(name)[:200], "phone": str(phone)[:50]}


def decision_rows(decisions) -> list[dict[str, Any]]:
    """A page of decisions with their remote contact and candidate patients (one query for
    every candidate of the page)."""
    from patients.models import Patient

    decisions = list(decisions)
    wanted = {pk for d in decisions for pk in candidate_ids(d.candidates)}
    patients = Patient.objects.in_bulk(wanted) if wanted else {}
    return [
        {
            "decision": decision,
            "remote": remote_contact(decision.payload),
            "candidates": [
                patients[pk] for pk in candidate_ids(decision.candidates) if pk in patients
            ],
        }
        for decision in decisions
    ]


def candidate_ids(values: Any) -> list[int]:
    """The patient ids of a decision's candidates (ids, or objects with an "id")."""
    if not isinstance(values, list):
        return []
    found = []
    for value in values:
        if isinstance(value, dict):
            value = value.get("id")
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
            found.append(value)
        elif isinstance(value, str) and value.isdigit() and len(value) < 19:
            found.append(int(value))
    return found
