from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change it describes.

    After commit a task hands it to the subscribed handlers; a periodic sweep retries
    whatever is left undelivered, so an outage of the queue loses nothing.
    """

    name = models.CharField(max_length=100, db_index=True)
    aggregate_type = models.CharField(max_length=100, blank=True)
    aggregate_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    delivered_to = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Set when the attempts ran out (settings.ODONTA_OUTBOX_MAX_ATTEMPTS): the sweep leaves
    # the event alone until someone retries it from Settings -> Failed events.
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("domain event")
        verbose_name_plural = _("domain events")
        ordering = ["id"]
        indexes = [
            # The sweep and /healthz read the pending events in id order.
            models.Index(
                fields=["id"],
                condition=Q(dispatched_at__isnull=True, failed_at__isnull=True),
                name="outbox_pending_idx",
            ),
            models.Index(
                fields=["failed_at"], condition=Q(failed_at__isnull=False), name="outbox_failed_idx"
            ),
            # The retention purge deletes delivered events by age (clinic.retention).
            models.Index(
                fields=["dispatched_at"],
                condition=Q(dispatched_at__isnull=False),
                name="outbox_dispatched_idx",
            ),
            models.Index(fields=["aggregate_type", "aggregate_id"], name="outbox_aggregate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"
