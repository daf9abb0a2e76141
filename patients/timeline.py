"""How timeline entries read. Apps add their events' wording with ``describe``:

timeline.describe("appointment.created", "calendar-plus",
                  lambda p: _("Booked for %(start)s") % {"start": p["start_display"]})

and file their events under a kind with ``register_kind`` (the History tab filters by kind;
a kind with a ``right`` is shown only to users who have it: a front desk does not read
diagnoses on the timeline).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.models import PatientEvent

Describer = Callable[[dict], str]


@dataclass(frozen=True)
class Description:
    icon: str
    text: Describer


_descriptions: dict[str, Description] = {}


def describe(name: str, icon: str, text: Describer) -> None:
    _descriptions[name] = Description(icon, text)


@dataclass(frozen=True)
class Kind:
    key: str
    label: str | Promise
    prefixes: tuple[str, ...]  # of event names: "appointment."
    order: int = 100
    right: tuple[str, str] | None = None  # (module, action) needed to see these events


_kinds: dict[str, Kind] = {}


def register_kind(kind: Kind) -> None:
    _kinds[kind.key] = kind


def kinds_for(user) -> list[Kind]:
    """The kinds the user may see, in order."""
    from clinic.permissions import has_module_perm

    return sorted(
        (k for k in _kinds.values() if k.right is None or has_module_perm(user, *k.right)),
        key=lambda k: k.order,
    )


def _matching(prefixes) -> Q:
    condition = Q(pk__in=[])
    for prefix in prefixes:
        condition |= Q(name__startswith=prefix)
    return condition


def visible_to(events: QuerySet, user, kind: str | None = None) -> QuerySet:
    """The events of ``kind`` (all kinds when None or unknown) that the user may see."""
    visible = kinds_for(user)
    hidden = [p for k in _kinds.values() if k not in visible for p in k.prefixes]
    if hidden:
        events = events.exclude(_matching(hidden))
    if kind in _kinds and _kinds[kind] in visible:
        events = events.filter(_matching(_kinds[kind].prefixes))
    return events


def render(entry: PatientEvent) -> tuple[str, str]:
    """(icon, text) of a timeline entry in the current language."""
    description = _descriptions.get(entry.name)
    if description is None:
        return "dot", entry.name
    try:
        return description.icon, description.text(entry.payload)
    except (KeyError, TypeError, ValueError):
        return description.icon, entry.name


FIELD_LABELS_CACHE: dict[str, str] = {}


def field_label(name: str) -> str:
    from patients.models import Patient

    try:
        return str(Patient._meta.get_field(name).verbose_name)  # type: ignore[union-attr]
    except Exception:  # a field that no longer exists still reads
        return name


def _changed(payload: dict) -> str:
    labels = ", ".join(field_label(name) for name in payload.get("changed", []))
    return _("Card changed: %(fields)s") % {"fields": labels}


register_kind(Kind("card", gettext_lazy("Card"), ("patient.", "family."), order=10))

describe("patient.created", "person-plus", lambda p: _("Card created"))
describe("patient.updated", "pencil", _changed)
describe("patient.deleted", "trash", lambda p: _("Card moved to the recycle bin"))
describe(
    "patient.representative_saved", "person-lines-fill", lambda p: _("Legal representative saved")
)
describe("patient.representative_removed", "person-x", lambda p: _("Legal representative removed"))
describe(
    "patient.restored", "arrow-counterclockwise", lambda p: _("Card restored from the recycle bin")
)
describe(
    "patient.imported", "file-earmark-arrow-up", lambda p: _("Card imported from %(file)s") % p
)
describe(
    "patient.import_updated",
    "file-earmark-arrow-up",
    lambda p: _("Card updated by the import of %(file)s") % p,
)
describe(
    "patient.portal_activated", "phone", lambda p: _("Portal account activated: %(login)s") % p
)
describe("patient.portal_deactivated", "phone", lambda p: _("Portal account deactivated"))
describe("family.joined", "people", lambda p: _("Joined the family %(family)s") % p)
describe("family.left", "people", lambda p: _("Left the family %(family)s") % p)
