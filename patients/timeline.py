"""How timeline entries read. Apps add their events' wording with ``describe``:

timeline.describe("appointment.created", "calendar-plus",
                  lambda p: _("Booked for %(start)s") % {"start": p["start_display"]})
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from patients.models import PatientEvent

Describer = Callable[[dict], str]


@dataclass(frozen=True)
class Description:
    icon: str
    text: Describer


_descriptions: dict[str, Description] = {}


def describe(name: str, icon: str, text: Describer) -> None:
    _descriptions[name] = Description(icon, text)


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
