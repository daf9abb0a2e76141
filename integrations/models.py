from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


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
