"""The recycle bin's registry: which soft-deletable models it lists, and how.

Apps register their sections in ``AppConfig.ready()``; deleting and restoring go through
``clinic.services.trash`` so that both are audited and published as domain events.

What a user sees of a section (its count, its list, what they may restore) is scoped like
the rest of the application: rows of a branch-scoped model (whose queryset has
``for_user``: chairs, shifts, visits, waiting-list entries, employees) only from the
user's branches. ``scope`` overrides that; a section of shared rows (patients, reference
books) is not scoped.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, QuerySet
from django.utils.functional import Promise

from clinic.softdelete import SoftDeleteModel


@dataclass(frozen=True)
class TrashSection:
    key: str
    label: Promise | str
    model: type[SoftDeleteModel]
    module: str
    filters: dict = field(default_factory=dict)
    event_prefix: str = ""
    describe: Callable[[Model], str] = str
    on_delete: Callable[..., None] | None = None
    on_restore: Callable[..., None] | None = None
    # Runs before a restore is saved and may refuse it (e.g. a visit's time is taken now).
    before_restore: Callable[..., None] | None = None
    # For objects that belong to a patient: the audit entry is filed under the patient.
    patient_of: Callable[[Model], int | None] | None = None
    # (deleted rows, user) -> the rows this user may see and restore; by default the
    # model's own ``for_user`` when it has one (branch-scoped rows), else every row.
    scope: Callable[[QuerySet, Any], QuerySet] | None = None

    def deleted(self) -> QuerySet:
        """Every deleted row of the section, whoever asks (services and tests)."""
        return (
            self.model.all_objects.filter(deleted_at__isnull=False, **self.filters)
            .select_related("deleted_by")
            .order_by("-deleted_at", "-pk")
        )

    def deleted_for(self, user) -> QuerySet:
        """The deleted rows ``user`` sees: the counts, the list and restore use this."""
        rows = self.deleted()
        if self.scope is not None:
            return self.scope(rows, user)
        if hasattr(rows, "for_user"):
            return rows.for_user(user)
        return rows


_sections: dict[str, TrashSection] = {}


def register(section: TrashSection) -> TrashSection:
    _sections[section.key] = section
    return section


def sections() -> list[TrashSection]:
    return list(_sections.values())


def get_section(key: str) -> TrashSection | None:
    return _sections.get(key)


def section_for(obj: Model) -> TrashSection | None:
    for section in _sections.values():
        if type(obj) is section.model and all(
            getattr(obj, name) == value for name, value in section.filters.items()
        ):
            return section
    return None
