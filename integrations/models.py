import json
import re
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.crypto import EncryptedTextField


class ExternalLink(models.Model):
    """The one place that says "patient 17 is amoCRM contact 3344".

    Unique per (system, local object) and per (system, external type, external id), so a
    sync can neither create a second twin nor attach one remote record to two local ones.
    ``last_pushed_hash`` lets a sync skip pushing what the remote already has, and
    ``remote_updated_at`` lets it ignore the echo of its own push (no sync loops).
    """

    system = models.CharField(max_length=40)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.CharField(max_length=64)
    local_object = GenericForeignKey("content_type", "object_id")
    external_type = models.CharField(max_length=40)
    external_id = models.CharField(max_length=100)
    last_pushed_hash = models.CharField(max_length=64, blank=True)
    # The values of each synced field as both sides last agreed on them (pushed, or received):
    # a sync sends only what differs from these, and takes in only what the remote changed.
    synced_values = models.JSONField(default=dict, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("external link")
        verbose_name_plural = _("external links")
        constraints = [
            models.UniqueConstraint(
                fields=["system", "content_type", "object_id"], name="external_link_one_per_object"
            ),
            models.UniqueConstraint(
                fields=["system", "external_type", "external_id"],
                name="external_link_one_per_remote",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system}:{self.external_type}:{self.external_id}"


class WebhookStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")


class InboundWebhook(models.Model):
    """A verified webhook request, stored as received and processed by a task.

    ``dedupe_key`` is the provider's event id, or the body's hash when the provider sends
    none; a repeated delivery hits the unique constraint and has no second effect.
    """

    system = models.CharField(max_length=40)
    dedupe_key = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100, blank=True)
    headers = models.JSONField(default=dict)
    body = models.TextField()
    body_hash = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=10, choices=WebhookStatus.choices, default=WebhookStatus.RECEIVED
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("inbound webhook")
        verbose_name_plural = _("inbound webhooks")
        constraints = [
            models.UniqueConstraint(fields=["system", "dedupe_key"], name="webhook_once_per_key"),
        ]
        indexes = [
            models.Index(
                fields=["id"], condition=~Q(status="processed"), name="webhook_pending_idx"
            ),
            # The retention purge deletes processed webhooks by age (clinic.retention).
            models.Index(
                fields=["processed_at"],
                condition=Q(status="processed"),
                name="webhook_processed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system} {self.event_type or self.dedupe_key}"


class ConnectionStatus(models.TextChoices):
    DISCONNECTED = "disconnected", _("Disconnected")
    CONNECTED = "connected", _("Connected")
    NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnecting")
    PAUSED = "paused", _("Paused")


def validate_https_url(value: str) -> None:
    """An API base URL: https, a host name, nothing after the path (no credentials, query)."""
    parts = urlsplit(value)
    if (
        parts.scheme != "https"
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
        or not _HOST.fullmatch(parts.hostname)
    ):
        raise ValidationError(
            _("Enter an https address of the service, such as https://example.amocrm.ru."),
            code="invalid_base_url",
        )


_HOST = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


class Connection(models.Model):
    """One account of an outbound system (an amoCRM account, a telephony provider...).

    ``credentials`` is one JSON object (tokens, client secret, expiry) encrypted with the
    Fernet keys; read it with ``get_credentials()`` and write it with ``set_credentials()``.
    It never appears in a page, a log or the audit (``SECRET_FIELDS``).
    """

    SECRET_FIELDS = ("credentials",)

    system = models.CharField(_("system"), max_length=40)
    name = models.CharField(_("name"), max_length=100, default="default")
    base_url = models.URLField(
        _("address"), max_length=300, blank=True, validators=[validate_https_url]
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ConnectionStatus.choices,
        default=ConnectionStatus.DISCONNECTED,
    )
    status_reason = models.CharField(_("reason"), max_length=500, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    credentials = EncryptedTextField(blank=True, editable=False)
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("connection")
        verbose_name_plural = _("connections")
        ordering = ["system", "name"]
        constraints = [
            models.UniqueConstraint(fields=["system", "name"], name="connection_one_per_name"),
        ]

    def __str__(self) -> str:
        return f"{self.system}: {self.name}"

    def __repr__(self) -> str:  # never the credentials, even in a traceback's locals
        return f"<Connection {self.pk} {self.system}:{self.name} {self.status}>"

    def get_credentials(self) -> dict[str, Any]:
        if not self.credentials:
            return {}
        value = json.loads(self.credentials)
        return value if isinstance(value, dict) else {}

    def set_credentials(self, values: dict[str, Any]) -> None:
        """Replace the stored credentials (the caller saves with ``update_fields``)."""
        self.credentials = json.dumps(values, ensure_ascii=False, sort_keys=True) if values else ""

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials)

    @property
    def is_active(self) -> bool:
        return self.status == ConnectionStatus.CONNECTED


class SyncDirection(models.TextChoices):
    IN = "in", _("Incoming")
    OUT = "out", _("Outgoing")


class SyncResult(models.TextChoices):
    OK = "ok", _("Done")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class SyncLogEntry(models.Model):
    """One operation of a sync with an outside system: what, which way, what changed, how it
    ended. Failed entries can be retried through ``integrations.synclog`` retry handlers."""

    direction = models.CharField(_("direction"), max_length=3, choices=SyncDirection.choices)
    system = models.CharField(_("system"), max_length=40)
    connection = models.ForeignKey(
        Connection,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="log_entries",
        verbose_name=_("connection"),
    )
    entity_type = models.CharField(_("entity"), max_length=40, blank=True)
    entity_id = models.CharField(_("entity id"), max_length=64, blank=True)
    action = models.CharField(_("action"), max_length=60)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    result = models.CharField(_("result"), max_length=10, choices=SyncResult.choices)
    error = models.TextField(_("error"), blank=True)
    request_id = models.CharField(_("request id"), max_length=100, blank=True)
    retried_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("sync log entry")
        verbose_name_plural = _("sync log entries")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="synclog_newest_idx"),
            models.Index(
                fields=["system", "result", "-created_at"], name="synclog_system_result_idx"
            ),
            models.Index(fields=["entity_type", "entity_id"], name="synclog_entity_idx"),
            # The retention purge deletes old successful entries by age (clinic.retention).
            models.Index(fields=["created_at"], condition=Q(result="ok"), name="synclog_ok_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.system} {self.direction} {self.action} {self.entity_type} {self.entity_id}"


class DecisionStatus(models.TextChoices):
    OPEN = "open", _("Needs a decision")
    RESOLVED = "resolved", _("Resolved")


class SyncDecision(models.Model):
    """A remote record the sync would not link on its own: several patients match it (a
    family sharing one phone), so a person picks one, or creates a new patient.

    ``candidates`` holds the matching patients' ids; ``payload`` the remote record as read.
    One open decision per remote record (a repeat updates it)."""

    system = models.CharField(_("system"), max_length=40)
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="decisions", verbose_name=_("connection")
    )
    external_type = models.CharField(_("remote entity"), max_length=40)
    external_id = models.CharField(_("remote id"), max_length=100)
    reason = models.CharField(_("reason"), max_length=200)
    candidates = models.JSONField(_("candidates"), default=list, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DecisionStatus.choices, default=DecisionStatus.OPEN
    )
    resolution = models.CharField(_("resolution"), max_length=200, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("sync decision")
        verbose_name_plural = _("sync decisions")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "external_type", "external_id"],
                condition=Q(status="open"),
                name="sync_decision_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system} {self.external_type} {self.external_id}: {self.reason}"


class SyncJobStatus(models.TextChoices):
    PREVIEW = "preview", _("Preview")
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class SyncJob(models.Model):
    """A long sync run (the initial sync of existing patients and future visits).

    It works in chunks; ``cursor`` says where the next chunk starts, so a restarted worker
    or a resumed pause goes on from there. ``preview`` is the dry run's counts."""

    system = models.CharField(_("system"), max_length=40)
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="jobs", verbose_name=_("connection")
    )
    kind = models.CharField(_("kind"), max_length=40, default="initial")
    status = models.CharField(
        _("status"), max_length=10, choices=SyncJobStatus.choices, default=SyncJobStatus.PREVIEW
    )
    preview = models.JSONField(default=dict, blank=True)
    cursor = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    linked = models.PositiveIntegerField(default=0)
    decisions = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sync job")
        verbose_name_plural = _("sync jobs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.system} {self.kind} {self.status}"

    @property
    def progress_percent(self) -> int:
        if not self.total:
            return 100 if self.status == SyncJobStatus.DONE else 0
        return min(100, self.processed * 100 // self.total)

    @property
    def is_running(self) -> bool:
        return self.status == SyncJobStatus.RUNNING


class SyncQueueItem(models.Model):
    """A local object whose changes wait to be pushed to an outside system.

    One row per (system, entity, object): a second change before the push only moves
    ``queued_at``, so a burst of edits becomes one write and pushes go out in batches. A
    worker claims rows by moving ``next_attempt_at`` past now (a lease), and deletes them
    after the push unless they were queued again meanwhile; a failure backs off. Nothing
    is lost while the outside system is down: the rows wait."""

    system = models.CharField(max_length=40)
    entity_type = models.CharField(max_length=40)
    object_id = models.BigIntegerField()
    queued_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("sync queue item")
        verbose_name_plural = _("sync queue items")
        constraints = [
            models.UniqueConstraint(
                fields=["system", "entity_type", "object_id"], name="sync_queue_one_per_object"
            ),
        ]
        indexes = [models.Index(fields=["system", "next_attempt_at"], name="sync_queue_due_idx")]

    def __str__(self) -> str:
        return f"{self.system} {self.entity_type} {self.object_id}"
