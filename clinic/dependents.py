"""What the future holds for an object about to be deleted, and what its deletion does to it.

A patient's card, a chair, an employee and a branch have upcoming visits and work shifts
booked on them (in the calendar, an app the core does not import). Deleting one of them would leave
those visits on the calendar, blocking the doctor or the chair, with links to a card that
is gone. So an app registers, per model, a ``Provider``: ``find`` lists the dependents (as
``Dependent`` rows the confirmation dialog shows: when, what, who, where) and ``release``
cancels or removes them, audited, in the deleting transaction.

The policy is the same for every such delete (``clinic.services.object_soft_delete``):

- nothing depends on the object: it is deleted at once;
- some dependents are in branches the user does not work in: refused, naming the
  branches (the user cannot act there);
- otherwise the deletion needs a confirmation that names exactly the dependents shown
  (``confirmation(found)``, a digest of their keys and times): the dialog lists them, and
  the delete cancels them with it. If the list changed meanwhile (a visit booked or moved),
  the confirmation no longer matches and the dialog shows the new list.

Restoring the object brings none of them back: cancelled visits stay cancelled, removed
shifts stay in the recycle bin (restoring one checks its chair and doctor are there).
"""

import datetime
import hashlib
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


@dataclass(frozen=True)
class Dependent:
    """One upcoming thing that relies on the object: a visit, a work shift, an entry."""

    key: str  # "appointment:17": what a confirmation names
    kind: str  # "Visit", "Work shift", "Waiting list" (translated)
    start: datetime.datetime | None
    end: datetime.datetime | None
    branch_id: int
    branch: str
    zone: zoneinfo.ZoneInfo
    who: str  # the patient and the doctor, as the dialog shows them
    where: str = ""  # the chair

    @property
    def signature(self) -> str:
        # A visit moved after the dialog was shown is not the visit the user confirmed.
        return f"{self.key}@{self.start.isoformat() if self.start else ''}"


@dataclass(frozen=True)
class Provider:
    model: type[Model]
    find: Callable[..., list[Dependent]]  # (obj) -> what relies on it
    # (obj, by=user): cancel or remove what ``find`` lists, audited and announced.
    release: Callable[..., None]
    # (obj): lock the rows ``find`` reads, before the object itself is locked (see ``lock``).
    lock: Callable[..., None] | None = None


_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    _providers.append(provider)
    return provider


def _providers_of(obj: Model) -> list[Provider]:
    return [p for p in _providers if isinstance(obj, p.model)]


def of(obj: Model) -> list[Dependent]:
    """Everything upcoming that relies on ``obj``, soonest first."""
    found = [dependent for p in _providers_of(obj) for dependent in p.find(obj)]
    far = datetime.datetime.max.replace(tzinfo=datetime.UTC)
    return sorted(found, key=lambda d: (d.start or far, d.key))


def lock(obj: Model) -> None:
    """Lock the rows that rely on ``obj`` (its visits, shifts...) before ``obj`` itself.

    A move or a status change locks its visit and then the visit's chair and doctor; a
    delete that locked the chair first and then its visits would wait for them in a circle
    (PostgreSQL aborts one: "deadlock detected"). Taking the visits first is their order."""
    for provider in _providers_of(obj):
        if provider.lock is not None:
            provider.lock(obj)


def confirmation(found: list[Dependent]) -> str:
    """What a confirming form posts back: it names exactly these dependents."""
    names = "\n".join(sorted(d.signature for d in found))
    return hashlib.sha256(names.encode()).hexdigest()[:32]


class ConfirmationNeeded(ValidationError):
    """The deletion cancels ``dependents``: ask, naming them, and post ``confirmation``."""

    def __init__(self, dependents: list[Dependent], *, changed: bool):
        self.dependents = dependents
        self.changed = changed
        message = (
            _("The list of visits and shifts has changed; check it again.")
            if changed
            else _("Confirm what the deletion cancels.")
        )
        super().__init__(message, code="confirm")


def hidden_from(found: list[Dependent], user) -> list[Dependent]:
    """The dependents in branches ``user`` does not work in."""
    from clinic.models import Branch, sees_every_branch

    if user is None or sees_every_branch(user):
        return []
    visible = set(Branch.objects.for_user(user).values_list("pk", flat=True))
    return [d for d in found if d.branch_id not in visible]


def refusal_for_hidden(hidden: list[Dependent]) -> str:
    branches = ", ".join(sorted({d.branch for d in hidden}))
    return ngettext(
        "%(count)s upcoming visit or shift is in a branch you do not work in (%(branches)s); "
        "it has to be cancelled there first.",
        "%(count)s upcoming visits or shifts are in branches you do not work in "
        "(%(branches)s); they have to be cancelled there first.",
        len(hidden),
    ) % {"count": len(hidden), "branches": branches}


def release(obj: Model, *, by, confirm: str | None) -> None:
    """Cancel what relies on ``obj``, if the user confirmed exactly that (see the module).

    Runs inside the deleting transaction, after ``lock(obj)`` and the lock of ``obj``."""
    found = of(obj)
    if not found:
        return
    hidden = hidden_from(found, by)
    if hidden:
        raise ValidationError(refusal_for_hidden(hidden), code="elsewhere")
    if confirm != confirmation(found):
        raise ConfirmationNeeded(found, changed=bool(confirm))
    for provider in _providers_of(obj):
        provider.release(obj, by=by)
