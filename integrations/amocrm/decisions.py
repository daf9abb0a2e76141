"""The "needs a decision" list: contacts the sync would not link on its own.

A contact whose phone several patients share (a family) is not merged into any of them:
it waits here until a person links it to one, or makes a new patient of it.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from clinic import audit
from integrations import synclog
from integrations.amocrm.config import CONTACT, SYSTEM
from integrations.models import Connection, DecisionStatus, SyncDecision, SyncResult

# Stored in English, shown translated (the decisions page translates the reason).
REASONS = {"shared_phone": gettext_noop("Several patients share this phone")}


def open_for_contact(
    connection: Connection, contact: dict[str, Any], *, candidates: list[int], reason: str
) -> SyncDecision:
    """Open (or refresh) the decision about this contact."""
    reason_text = REASONS.get(reason, reason)
    fields = {
        "connection": connection,
        "reason": reason_text,
        "candidates": sorted(set(candidates)),
        "payload": {
            "id": contact.get("id"),
            "name": contact.get("name") or "",
            "updated_at": contact.get("updated_at"),
            "custom_fields_values": contact.get("custom_fields_values") or [],
        },
    }
    try:
        with transaction.atomic():
            decision, created = SyncDecision.objects.update_or_create(
                system=SYSTEM,
                external_type=CONTACT,
                external_id=str(contact["id"]),
                status=DecisionStatus.OPEN,
                defaults=fields,
            )
    except IntegrityError:  # opened by a concurrent sync a moment ago
        decision = SyncDecision.objects.get(
            system=SYSTEM, external_type=CONTACT, external_id=str(contact["id"]), status="open"
        )
        created = False
    if created:
        synclog.log(
            direction="in",
            system=SYSTEM,
            connection=connection,
            action="contact.decision",
            entity_type="contact",
            entity_id=contact["id"],
            result=SyncResult.SKIPPED,
            error=reason_text,
            changes={"candidates": [None, fields["candidates"]]},
        )
    return decision


@transaction.atomic
def decision_resolve(*, decision: SyncDecision, patient=None, by) -> SyncDecision:
    """Link the contact to ``patient`` (one of the candidates, not linked elsewhere), or,
    with no patient, make a new patient of it; the sync then goes on as for any link."""
    from integrations.amocrm import inbound
    from integrations.amocrm.sync import client_for

    current = SyncDecision.objects.select_for_update().get(pk=decision.pk)
    if current.status != DecisionStatus.OPEN:
        raise ValidationError(_("This decision has already been made."), code="resolved")
    if patient is not None and patient.pk not in current.candidates:
        raise ValidationError(_("This patient is not one of the candidates."), code="invalid")
    client = client_for(current.connection)
    contact = client.contact(int(current.external_id))
    if contact is None:
        resolution = "contact gone"
    else:
        linked = inbound.link_contact(current.connection, client, contact, patient=patient, by=by)
        resolution = f"patient {linked.pk}" + (" (new)" if patient is None else "")
    current.status = DecisionStatus.RESOLVED
    current.resolution = resolution
    current.resolved_by = by
    current.resolved_at = timezone.now()
    current.save(update_fields=["status", "resolution", "resolved_by", "resolved_at"])
    audit.record(
        actor=by,
        action="update",
        obj=current,
        changes={
            "status": [DecisionStatus.OPEN, DecisionStatus.RESOLVED],
            "resolution": ["", resolution],
        },
    )
    return current
