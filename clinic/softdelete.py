"""Soft delete: deleted business objects stay in the table until purged.

The default manager hides them; ``all_objects`` sees everything and is the base manager,
so a foreign key still reaches a deleted row (an old appointment keeps its patient).
Deleting and restoring go through ``clinic.trash`` so that they are audited.
"""

from django.conf import settings
from django.db import models


class SoftDeleteQuerySet(models.QuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        return self.filter(deleted_at__isnull=False)


class AliveManager(models.Manager):
    """Hides soft-deleted rows; combine with a queryset class via ``from_queryset``."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


SoftDeleteManager = AliveManager.from_queryset(SoftDeleteQuerySet)
AllObjectsManager = models.Manager.from_queryset(SoftDeleteQuerySet)


class SoftDeleteModel(models.Model):
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = SoftDeleteManager()
    all_objects = AllObjectsManager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None
