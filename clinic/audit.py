"""Recording business events in the append-only, hash-chained audit log.

Services call ``record_created``/``record_changed``/``record_deleted`` (or ``record``) with
the acting user; opening a patient card is ``record_viewed``. Values are stored as JSON
(``snapshot``), so that the chain can be re-hashed from the database exactly.
"""

import datetime
import decimal
import json
import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.utils import timezone

from clinic.models import GENESIS_HASH, AuditAction, AuditEntry

# Any constant: the advisory lock that serialises appends so the chain never forks.
AUDIT_CHAIN_LOCK = 7_301_001


def json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple | set | frozenset):
        items = [json_value(item) for item in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if hasattr(value, "name"):  # file fields
        return value.name or ""
    return str(value)


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The object's concrete field values as JSON values (foreign keys as ids).

    Many-to-many fields may be named explicitly in ``fields``; they are read as id lists.
    """
    opts = obj._meta
    names = (
        list(fields)
        if fields is not None
        else [f.name for f in opts.concrete_fields if f.name not in ("deleted_at", "deleted_by")]
    )
    result: dict[str, Any] = {}
    for name in names:
        field = opts.get_field(name)
        if field.many_to_many:
            value = sorted(getattr(obj, name).values_list("pk", flat=True)) if obj.pk else []
        elif field.is_relation:
            value = getattr(obj, field.attname)  # type: ignore[union-attr]
        else:
            value = getattr(obj, name)
        result[name] = json_value(value)
    return result


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields whose values differ."""
    return {
        name: [before.get(name), after.get(name)]
        for name in after
        if before.get(name) != after.get(name)
    }


def record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    patient_id: int | None = None,
    object_repr: str | None = None,
    ip_address: str | None = None,
) -> AuditEntry:
    actor = actor if actor is not None and actor.is_authenticated else None
    entry = AuditEntry(
        created_at=timezone.now(),
        actor=actor,
        actor_name=str(actor) if actor else "",
        action=action,
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False)
        if obj is not None
        else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=(object_repr if object_repr is not None else str(obj or ""))[:300],
        patient_id=patient_id,
        # Round-trip through JSON so that the hash is computed over what the database returns.
        changes=json.loads(json.dumps(json_value(changes or {}), ensure_ascii=False)),
        ip_address=ip_address,
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
        last_hash = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first()
        entry.prev_hash = last_hash or GENESIS_HASH
        entry.hash = entry.compute_hash()
        entry.save()
    return entry


def record_created(
    *, actor, obj: models.Model, patient_id: int | None = None, fields: Iterable[str] | None = None
) -> AuditEntry:
    values = {
        name: [None, value]
        for name, value in snapshot(obj, fields).items()
        if value not in (None, "", [])
    }
    return record(
        actor=actor, action=AuditAction.CREATE, obj=obj, changes=values, patient_id=patient_id
    )


def record_changed(
    *, actor, obj: models.Model, before: dict[str, Any], patient_id: int | None = None
) -> AuditEntry | None:
    """Record an update if anything in ``before`` changed; ``None`` when nothing did."""
    changes = diff(before, snapshot(obj, before.keys()))
    if not changes:
        return None
    return record(
        actor=actor, action=AuditAction.UPDATE, obj=obj, changes=changes, patient_id=patient_id
    )


def record_viewed(
    *, actor, obj: models.Model, patient_id: int | None = None, ip_address: str | None = None
) -> AuditEntry:
    return record(
        actor=actor, action=AuditAction.VIEW, obj=obj, patient_id=patient_id, ip_address=ip_address
    )


def verify_chain(*, chunk_size: int = 5000) -> tuple[int, int | None]:
    """Walk the chain in order. Returns (entries checked, id of the first broken entry)."""
    expected_prev = GENESIS_HASH
    checked = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=chunk_size):
        if entry.prev_hash != expected_prev or entry.compute_hash() != entry.hash:
            return checked, entry.pk
        expected_prev = entry.hash
        checked += 1
    return checked, None
