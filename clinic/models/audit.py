import datetime
import hashlib
import hmac
import ipaddress
import json

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class UnknownAuditKeyError(LookupError):
    """An entry or anchor names a key that ``settings.AUDIT_KEYS`` does not hold."""


def audit_key(key_id: str) -> bytes:
    try:
        return settings.AUDIT_KEYS[key_id].encode()
    except KeyError:
        raise UnknownAuditKeyError(key_id) from None


def current_audit_key_id() -> str:
    """New entries and anchors are keyed with the first (newest) key."""
    return next(iter(settings.AUDIT_KEYS))


def canonical_time(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def canonical_ip(value: str | None) -> str | None:
    """One text per address, whether written by Python or returned by the database: inet
    compresses IPv6 and an empty value is stored as NULL."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return value  # a forged value: hashed as it is, so the entry fails to verify


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    DELETE = "delete", _("Deleted")
    RESTORE = "restore", _("Restored")
    VIEW = "view", _("Opened")
    LOGIN = "login", _("Logged in")


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The audit log is append-only.")

    def delete(self):
        raise TypeError("The audit log is append-only.")


class AuditEntry(models.Model):
    """One business event: who did what to which object, with the changed fields.

    Entries are chained: ``hash`` is an HMAC-SHA256, under the key named by ``key_id``
    (``settings.AUDIT_KEYS``, kept outside the database), of the entry's content and
    ``prev_hash``, the hash of the entry before it. Editing or removing a row breaks the
    chain, and without the key the later hashes cannot be recomputed (``manage.py
    audit_verify`` walks it and compares the head with the anchors written outside the
    database). PostgreSQL also refuses UPDATE, DELETE and TRUNCATE.
    """

    created_at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        # Users are deactivated, never deleted; the entry must not change if one were.
        on_delete=models.DO_NOTHING,
        related_name="+",
        verbose_name=_("user"),
        db_constraint=False,
    )
    actor_name = models.CharField(_("user"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=10, choices=AuditAction.choices)
    content_type = models.ForeignKey(
        ContentType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("object type"),
    )
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=300, blank=True)
    patient_id = models.BigIntegerField(_("patient"), null=True, blank=True, db_index=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)
    hash = models.CharField(max_length=64, unique=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["actor", "created_at"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"
        )

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit log is append-only.")

    def hash_content(self) -> bytes:
        """The hashed content in a canonical form, so that the values as written and as the
        database returns them (on PostgreSQL and SQLite) give the same bytes."""
        content = {
            "created_at": canonical_time(self.created_at),
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "action": self.action,
            "content_type_id": self.content_type_id,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "patient_id": self.patient_id,
            "changes": self.changes,
            "ip_address": canonical_ip(self.ip_address),
            "prev_hash": self.prev_hash,
            "key_id": self.key_id,
        }
        return json.dumps(
            content, sort_keys=True, ensure_ascii=False, separators=(",", ":")
        ).encode()

    def compute_hash(self) -> str:
        """HMAC-SHA256 under the entry's key; ``UnknownAuditKeyError`` if it is not configured."""
        return hmac.new(audit_key(self.key_id), self.hash_content(), hashlib.sha256).hexdigest()
