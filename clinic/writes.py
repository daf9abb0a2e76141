"""The common write path of services: validate, save, audit, publish.

Services stay in charge of their rules and transaction; these two helpers do the part that
is the same everywhere, so that no write forgets its audit entry or its domain event.
"""

from typing import Any, TypeVar

from django.db import models

from clinic import audit, events

M = TypeVar("M", bound=models.Model)


def _split(model: type[models.Model], data: dict[str, Any]) -> tuple[dict, dict]:
    plain: dict[str, Any] = {}
    m2m: dict[str, Any] = {}
    for name, value in data.items():
        field = model._meta.get_field(name)
        (m2m if field.many_to_many else plain)[name] = value
    return plain, m2m


def save_new(
    obj: M,
    *,
    by,
    m2m: dict[str, Any] | None = None,
    patient_id: int | None = None,
    event: str | None = None,
    event_payload: dict[str, Any] | None = None,
) -> M:
    """Validate and insert ``obj``, set its many-to-many values, audit and publish."""
    obj.full_clean()
    obj.save()
    for name, values in (m2m or {}).items():
        getattr(obj, name).set(values)
    fields = [
        f.name for f in obj._meta.concrete_fields if f.name not in ("deleted_at", "deleted_by")
    ]
    audit.record_created(actor=by, obj=obj, patient_id=patient_id, fields=[*fields, *(m2m or {})])
    if event:
        events.publish(event, obj, {"id": obj.pk, **(event_payload or {})}, actor=by)
    return obj


def save_changes(
    obj: M,
    *,
    by,
    data: dict[str, Any],
    patient_id: int | None = None,
    event: str | None = None,
    event_payload: dict[str, Any] | None = None,
) -> tuple[M, dict[str, list[Any]]]:
    """Apply ``data`` to a locked fresh copy of ``obj``; returns it and ``{field: [old, new]}``.

    The copy is re-read under ``SELECT ... FOR NO KEY UPDATE``, so a form that has already mutated
    ``obj`` cannot hide the old values from the audit, and two saves never interleave.
    Must run inside the caller's ``transaction.atomic()``.
    """
    model = type(obj)
    current = model._base_manager.select_for_update(no_key=True).get(pk=obj.pk)
    plain, m2m = _split(model, data)
    before = audit.snapshot(current, list(data))
    for name, value in plain.items():
        model._meta.get_field(name).save_form_data(current, value)  # type: ignore[union-attr]
    current.full_clean()
    if plain:
        # ``update_fields`` leaves ``auto_now`` fields alone unless named: a row that really
        # changed gets a new ``updated_at`` (a two-way sync compares it with the other side's);
        # a save that changes nothing leaves it.
        changed = audit.diff(before, audit.snapshot(current, list(plain)))
        touched = [
            f.name
            for f in model._meta.concrete_fields
            if changed and getattr(f, "auto_now", False) and f.name not in plain
        ]
        current.save(update_fields=[*plain, *touched])
    for name, values in m2m.items():
        getattr(current, name).set(values)
    changes = audit.diff(before, audit.snapshot(current, list(data)))
    if changes:
        audit.record(actor=by, action="update", obj=current, changes=changes, patient_id=patient_id)
        if event:
            events.publish(
                event,
                current,
                {"id": current.pk, "changed": sorted(changes), **(event_payload or {})},
                actor=by,
            )
    return current, changes
