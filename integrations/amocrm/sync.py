"""The amoCRM sync's shared parts: the connection it runs on, its client, its clock, and
what happens when amoCRM stops answering us (the connection pauses, administrators hear)."""

import datetime
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations import services
from integrations.amocrm.client import AmoClient
from integrations.amocrm.config import SYSTEM, AmoSettings
from integrations.http import Forbidden, IntegrationError, Unauthorized
from integrations.models import Connection, ConnectionStatus, SyncJob, SyncJobStatus

logger = logging.getLogger(__name__)


def connection_get() -> Connection | None:
    return Connection.objects.filter(system=SYSTEM, name="default").first()


def active_connection() -> Connection | None:
    """The connection the sync runs on: connected and set up, else None (changes wait)."""
    connection = connection_get()
    if connection is None or connection.status != ConnectionStatus.CONNECTED:
        return None
    if not AmoSettings.of(connection).setup_done:
        return None
    return connection


def client_for(connection: Connection) -> AmoClient:
    return AmoClient(connection, max_attempts=settings.AMOCRM_MAX_ATTEMPTS)


def remote_time(value: Any) -> datetime.datetime | None:
    """amoCRM's Unix seconds as an aware moment (None for nothing or nonsense)."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    if seconds <= 0 or seconds > 32503680000:  # after the year 3000: not a real time
        return None
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


def settings_update(connection: Connection, **values: Any) -> None:
    """Change some of the connection's settings keys without losing a concurrent change."""
    with services.connection_lock(connection.pk) as locked:
        locked.settings = {**(locked.settings or {}), **values}
        locked.save(update_fields=["settings", "updated_at"])
    connection.settings = locked.settings


def stop_if_refused(connection: Connection, error: Exception) -> bool:
    """A 403 pauses the connection and a 401 that a refresh could not cure asks to reconnect;
    either way administrators are told once. True when the sync must stop."""
    if not isinstance(error, Forbidden | Unauthorized):
        return False
    before = connection.status
    services.connection_status_after(connection=connection, error=error)
    connection.refresh_from_db(fields=["status", "status_reason"])
    if connection.status != before:
        alert_stopped(connection)
    return True


def alert_stopped(connection: Connection) -> None:
    """Tell the administrators (superusers with an email) that the sync has stopped."""
    logger.error("amoCRM sync stopped: %s (%s)", connection.status, connection.status_reason)
    emails = list(
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not emails:
        return
    try:
        send_mail(
            _("The amoCRM sync has stopped"),
            _(
                "amoCRM refused the clinic's requests (%(reason)s). Changes wait in the queue "
                "and nothing is lost; open Settings -> Integrations -> amoCRM to reconnect or "
                "resume."
            )
            % {"reason": connection.status_reason or connection.get_status_display()},
            None,
            emails,
            fail_silently=True,
        )
    except Exception:  # mail must never break the sync
        logger.exception("Could not send the amoCRM alert")


# A running long job (initial sync, app accounts) with no progress for this long lost its
# worker (a restart): the jobs sweep starts it again.
STALLED = datetime.timedelta(minutes=3)


def resume_stalled_jobs(kind: str, task) -> int:
    """Start again the running jobs of ``kind`` whose worker stopped without finishing."""
    from clinic import jobs

    stalled = list(
        SyncJob.objects.filter(
            system=SYSTEM,
            kind=kind,
            status=SyncJobStatus.RUNNING,
            progress_at__lt=timezone.now() - STALLED,
        ).values_list("pk", flat=True)
    )
    for job_id in stalled:
        jobs.enqueue(task, job_id)
    return len(stalled)


def now_seconds() -> int:
    return int(timezone.now().timestamp())


__all__ = ["IntegrationError", "active_connection", "client_for", "connection_get", "remote_time"]
