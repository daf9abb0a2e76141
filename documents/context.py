"""What a document is printed for: the patient, the clinic, the branch, the doctor, today,
and optionally a visit (or, later, a plan or an invoice).

``documents`` sits left of the calendar and cannot import it, so the calendar registers a
``VisitSource`` (``calendar_app/registrations.py``): how a visit is found for a user, which
visits a print dialog offers, and its doctor and branch. When a document is printed for a
visit, its doctor and branch are the visit's; otherwise the patient's attending doctor and
the branch the user works in now (else the patient's home branch).

Apps that print for other things (the treatment plan, an invoice) put their object in
``subjects`` and read it in their placeholders with ``ctx.subject("plan")``. The clinical
record registers a ``PlanSource`` (``clinical/plan_documents.py``) the same way: the plans a
print dialog offers and the loading of the one chosen, which goes in ``subjects["plan"]``.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.safestring import SafeString

from clinic.models import Branch, Employee, Organization
from patients.models import Patient


@dataclass(frozen=True)
class VisitChoice:
    id: int
    label: str
    today: bool = False


@dataclass(frozen=True)
class VisitSource:
    # (visit id, patient, user) -> the patient's visit in the user's branches, or None.
    load: Callable[[int, Patient, Any], Any | None]
    # (patient, user) -> the visits a print dialog offers (today's first).
    choices: Callable[[Patient, Any], list[VisitChoice]]
    doctor_of: Callable[[Any], Employee | None]
    branch_of: Callable[[Any], Branch | None]


_visit_source: list[VisitSource] = []


def register_visit_source(source: VisitSource) -> None:
    _visit_source[:] = [source]


def visit_source() -> VisitSource | None:
    return _visit_source[0] if _visit_source else None


class VisitNotFound(LookupError):
    """The visit asked for is not the patient's, or not in the user's branches."""


@dataclass(frozen=True)
class PlanChoice:
    id: int
    label: str


@dataclass(frozen=True)
class PlanSource:
    # (plan id, patient, user) -> the patient's plan in the user's branches, or None.
    load: Callable[[int, Patient, Any], Any | None]
    # (patient, user) -> the plans a print dialog offers (newest first).
    choices: Callable[[Patient, Any], list[PlanChoice]]


_plan_source: list[PlanSource] = []


def register_plan_source(source: PlanSource) -> None:
    _plan_source[:] = [source]


def plan_source() -> PlanSource | None:
    return _plan_source[0] if _plan_source else None


class PlanNotFound(LookupError):
    """The plan asked for is not the patient's, or not in the user's branches."""


def load_plan(plan_id: int, patient: Patient, user) -> Any:
    """The plan a document is printed for (``subjects["plan"]``); ``PlanNotFound`` for a
    plan the user may not use."""
    source = plan_source()
    plan = source.load(plan_id, patient, user) if source else None
    if plan is None:
        raise PlanNotFound(plan_id)
    return plan


@dataclass
class DocumentContext:
    patient: Patient | None
    organization: Organization
    branch: Branch | None
    doctor: Employee | None
    today: datetime.date
    visit: Any = None
    subjects: dict[str, Any] = field(default_factory=dict)
    # A template's preview: placeholders print their samples (a made-up patient and visit).
    use_samples: bool = False
    # Printed values by placeholder key, filled as they are first needed.
    values: dict[str, SafeString | None] = field(default_factory=dict)

    @property
    def representative(self):
        return getattr(self.patient, "representative", None)

    def subject(self, name: str) -> Any:
        return self.subjects.get(name)


def build_context(
    patient: Patient,
    *,
    user=None,
    branch: Branch | None = None,
    visit_id: int | None = None,
    subjects: dict[str, Any] | None = None,
) -> DocumentContext:
    """The context of one printing; ``VisitNotFound`` for a visit the user may not use."""
    visit = None
    doctor = patient.attending_doctor
    branch = branch or patient.branch
    if visit_id is not None:
        source = visit_source()
        visit = source.load(visit_id, patient, user) if source else None
        if visit is None:
            raise VisitNotFound(visit_id)
        doctor = source.doctor_of(visit) or doctor  # type: ignore[union-attr]
        branch = source.branch_of(visit) or branch  # type: ignore[union-attr]
    zone = branch.zone if branch else None
    return DocumentContext(
        patient=patient,
        organization=Organization.load(),
        branch=branch,
        doctor=doctor,
        today=timezone.localdate(timezone=zone),
        visit=visit,
        subjects=dict(subjects or {}),
    )


def sample_context(branch: Branch | None = None) -> DocumentContext:
    """A made-up patient (and visit) with the clinic's real data: how a template prints."""
    return DocumentContext(
        patient=None,
        organization=Organization.load(),
        branch=branch,
        doctor=None,
        today=timezone.localdate(timezone=branch.zone if branch else None),
        use_samples=True,
    )
