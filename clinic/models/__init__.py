from .audit import GENESIS_HASH, AuditAction, AuditEntry
from .events import OutboxEvent
from .numbering import NumberSequence
from .organization import (
    Branch,
    BranchOwnedQuerySet,
    BranchScopedQuerySet,
    Chair,
    Currency,
    Organization,
    sees_every_branch,
)
from .preferences import PreferenceValue
from .references import (
    Gender,
    Insurer,
    MarketingChannel,
    Measure,
    ParentDiagnosisGroup,
    PatientGroup,
    PayPeriod,
    PayVariant,
    Profession,
    ProfessionKind,
    ReferenceItem,
    Unit,
)
from .staff import Employee, ModuleRight, RightsGroup, User

__all__ = [
    "GENESIS_HASH",
    "AuditAction",
    "AuditEntry",
    "Branch",
    "BranchOwnedQuerySet",
    "BranchScopedQuerySet",
    "Chair",
    "Currency",
    "Employee",
    "Gender",
    "Insurer",
    "MarketingChannel",
    "Measure",
    "ModuleRight",
    "NumberSequence",
    "Organization",
    "OutboxEvent",
    "ParentDiagnosisGroup",
    "PatientGroup",
    "PayPeriod",
    "PayVariant",
    "PreferenceValue",
    "Profession",
    "ProfessionKind",
    "ReferenceItem",
    "RightsGroup",
    "Unit",
    "User",
    "sees_every_branch",
]
