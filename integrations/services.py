"""Writes of the integrations app: connections (status, credentials) and sync log retries.

Credentials never reach the audit: it records that they changed, not what they are.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.utils import timezone

from clinic import audit
from integrations import http
from integrations.models import Connection, ConnectionStatus


def connection_ensure(*, system: str, name: str = "default", base_url: str = "") -> Connection:
    """The connection of ``(system, name)``, made (disconnected) if there is none."""
    connection, created = Connection.objects.get_or_create(
        system=system, name=name, defaults={"base_url": base_url}
    )
    if created and base_url:
        connection.full_clean()
    return connection


@contextmanager
def connection_lock(connection_id: int) -> Iterator[Connection]:
    """The connection re-read under a row lock, for one transaction: a token refresh holds it,
    so only one worker refreshes at a time and the others then read the new tokens."""
    with transaction.atomic():
        yield Connection.objects.select_for_update().get(pk=connection_id)


@transaction.atomic
def connection_credentials_set(
    *,
    connection: Connection,
    credentials: dict[str, Any],
    status: str | None = ConnectionStatus.CONNECTED,
    by=None,
) -> Connection:
    """Store new credentials (a connect, a refresh); by default the connection is connected."""
    current = Connection.objects.select_for_update().get(pk=connection.pk)
    current.set_credentials(credentials)
    fields = ["credentials", "updated_at"]
    if status is not None and current.status != status:
        current.status, current.status_reason = status, ""
        current.status_changed_at = timezone.now()
        fields += ["status", "status_reason", "status_changed_at"]
    current.save(update_fields=fields)
    audit.record(
        actor=by,
        action="update",
        obj=current,
        changes={"credentials": ["", "changed"], **({"status": [None, status]} if status else {})},
    )
    _copy(current, connection, fields)
    return current


@transaction.atomic
def connection_status_set(
    *, connection: Connection, status: str, reason: str = "", by=None
) -> Connection:
    """Connected, paused (a 403), needs reconnecting (a revoked token)... with why."""
    current = Connection.objects.select_for_update().get(pk=connection.pk)
    reason = reason[:500]
    if (current.status, current.status_reason) == (status, reason):
        return current
    before = {"status": current.status, "status_reason": current.status_reason}
    current.status, current.status_reason = status, reason
    current.status_changed_at = timezone.now()
    fields = ["status", "status_reason", "status_changed_at", "updated_at"]
    current.save(update_fields=fields)
    audit.record_changed(actor=by, obj=current, before=before)
    _copy(current, connection, fields)
    return current


@transaction.atomic
def connection_disconnect(*, connection: Connection, by=None) -> Connection:
    """Forget the credentials; links to remote records stay (a reconnect reuses them)."""
    current = Connection.objects.select_for_update().get(pk=connection.pk)
    current.set_credentials({})
    current.status, current.status_reason = ConnectionStatus.DISCONNECTED, ""
    current.status_changed_at = timezone.now()
    fields = ["credentials", "status", "status_reason", "status_changed_at", "updated_at"]
    current.save(update_fields=fields)
    audit.record(
        actor=by,
        action="update",
        obj=current,
        changes={"credentials": ["", "removed"], "status": [None, current.status]},
    )
    _copy(current, connection, fields)
    return current


# Settings keys whose values are secrets (a webhook path token, or an address holding one):
# the audit records that they changed, not what they are.
SECRET_SETTINGS = ("webhook_secret", "webhook_destination")


@transaction.atomic
def connection_settings_update(
    *,
    connection: Connection,
    values: dict[str, Any],
    base_url: str | None = None,
    by=None,
) -> Connection:
    """Merge ``values`` into the connection's settings (a key set to ``None`` is removed) and
    set its address; the caller validates both (an address on loopback passes no https check).
    """
    current = Connection.objects.select_for_update().get(pk=connection.pk)
    settings = dict(current.settings) if isinstance(current.settings, dict) else {}
    changes: dict[str, list[Any]] = {}
    for key, value in values.items():
        old = settings.get(key)
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
        if old != value:
            secret = key in SECRET_SETTINGS
            changes[f"settings.{key}"] = ["", "changed"] if secret else [old, value]
    fields = ["settings", "updated_at"]
    if base_url is not None and base_url != current.base_url:
        changes["base_url"] = [current.base_url, base_url]
        current.base_url = base_url
        fields.append("base_url")
    if not changes:
        return current
    current.settings = settings
    current.save(update_fields=fields)
    audit.record(actor=by, action="update", obj=current, changes=changes)
    _copy(current, connection, fields)
    return current


def _copy(source: Connection, target: Connection, fields: list[str]) -> None:
    for name in fields:
        setattr(target, name, getattr(source, name))


def connection_status_after(*, connection: Connection, error: Exception) -> Connection:
    """What a sync does with a client error that stops the connection: a 403 pauses it, a
    401 that a refresh could not cure asks for reconnecting; other errors change nothing
    (they are retried). Call it outside the failed work's transaction, so it sticks."""
    if isinstance(error, http.Forbidden):
        status = ConnectionStatus.PAUSED
    elif isinstance(error, http.Unauthorized):
        status = ConnectionStatus.NEEDS_RECONNECT
    else:
        return connection
    return connection_status_set(connection=connection, status=status, reason=str(error))
