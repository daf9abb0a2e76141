"""The modules of Odonta: what the sidebar lists and what access rights are granted on.

Every view declares the module and action it needs (see ``clinic.permissions``); rights
groups and individual rights are sets of ``<module>_<action>`` permissions. A module whose
app has not landed yet is ``coming_soon``: its URL serves an honest placeholder page.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# Column headings of the rights matrix ("the right to delete"), hence their own context.
ACTION_LABELS: dict[str, Promise] = {
    "view": pgettext_lazy("right", "View"),
    "change": pgettext_lazy("right", "Change"),
    "delete": pgettext_lazy("right", "Delete"),
    "export": pgettext_lazy("right", "Export"),
    "import": pgettext_lazy("right", "Import"),
    "rights": pgettext_lazy("right", "Manage access rights"),
    "rollback": pgettext_lazy("right", "Roll back"),
    "refund": pgettext_lazy("right", "Refund"),
    "deposit": pgettext_lazy("right", "Deposit"),
}


@dataclass(frozen=True)
class Module:
    key: str
    label: Promise
    icon: str
    path: str
    url_name: str = ""
    actions: tuple[str, ...] = ("view", "change")
    coming_soon: bool = False
    description: Promise | str = ""
    # A module that lives inside other screens (the clinical record, in the patient card)
    # has rights but no page of its own in the sidebar.
    in_sidebar: bool = True

    @property
    def link_name(self) -> str:
        return f"coming-soon-{self.key}" if self.coming_soon else self.url_name


MODULES: tuple[Module, ...] = (
    Module("home", _("Home"), "house", "", "clinic:home", ("view",)),
    Module(
        "patients",
        _("Patients"),
        "people",
        "patients/",
        "patients:list",
        actions=("view", "change", "delete", "export", "import"),
        description=_("Patient cards: search, registration, family, documents."),
    ),
    Module(
        "calendar",
        _("Calendar"),
        "calendar3",
        "calendar/",
        "calendar:calendar",
        description=_("Chair-by-chair appointment calendar with work shifts."),
    ),
    Module(
        "schedule",
        _("Doctor schedule"),
        "clock",
        "schedule/",
        "schedule:day",
        description=_("A doctor's own day: patients, times, chairs and statuses."),
    ),
    Module(
        "clinical",
        _("Clinical record"),
        "clipboard2-pulse",
        "clinical/",
        in_sidebar=False,
        description=_("The dental chart and diagnoses in the patient card."),
    ),
    Module(
        "billing",
        _("Payments"),
        "wallet2",
        "billing/",
        "billing:cash-day",
        actions=("view", "change", "rollback", "refund", "deposit"),
        description=_(
            "Invoices, payments and deposits in the patient card, the cash desk day, debts, "
            "income by doctor and tax certificates: change bills and takes payments, rollback "
            "undoes an invoice or a payment, refund gives money back, deposit takes "
            "prepayments and withdrawals."
        ),
    ),
    Module(
        "chat",
        _("Chat"),
        "chat-dots",
        "chat/",
        coming_soon=True,
        description=_("Realtime chat between staff members."),
    ),
    Module(
        "mail",
        _("Mail"),
        "envelope",
        "mail/",
        coming_soon=True,
        description=_("The clinic's mailbox: inbox, sent, drafts."),
    ),
    Module(
        "tasks",
        _("Tasks"),
        "check2-square",
        "tasks/",
        coming_soon=True,
        description=_("A kanban board of staff tasks."),
    ),
    Module(
        "crm",
        _("CRM"),
        "funnel",
        "crm/",
        coming_soon=True,
        description=_("Leads, calls, messages and mailings."),
    ),
    Module(
        "reports",
        _("Reports"),
        "bar-chart",
        "reports/",
        coming_soon=True,
        description=_("Services, finances, patient flow and doctors' income reports."),
    ),
    Module(
        "budget",
        _("Budget"),
        "calculator",
        "reports/budget/",
        coming_soon=True,
        description=_("Profitability calculator for new services."),
    ),
    Module(
        "ebitda",
        _("EBITDA"),
        "graph-up-arrow",
        "reports/ebitda/",
        coming_soon=True,
        description=_("Income, costs and margin of the clinic."),
    ),
    Module(
        "labs",
        _("Labs"),
        "eyedropper",
        "labs/",
        coming_soon=True,
        description=_("Dental labs, their prices and work orders."),
    ),
    Module(
        "warehouse",
        _("Warehouse"),
        "box-seam",
        "warehouse/",
        coming_soon=True,
        description=_("Materials, stock movements and purchase orders."),
    ),
    Module(
        "marketing",
        _("Marketing"),
        "megaphone",
        "marketing/",
        coming_soon=True,
        description=_("Channels, CLV groups and campaigns."),
    ),
    Module(
        "coordinators",
        _("Coordinators"),
        "person-check",
        "coordinators/",
        coming_soon=True,
        description=_("Coordinators' board of patients in treatment."),
    ),
    Module(
        "insurance",
        _("DMS"),
        "shield-plus",
        "insurance/",
        coming_soon=True,
        description=_("Voluntary health insurance: insurers, policies, approvals."),
    ),
    Module(
        "discounts",
        _("Discounts"),
        "percent",
        "billing/discounts/",
        "billing:discounts",
        description=_("Discounts and promotions by services, recipients and period."),
    ),
    Module(
        "documents",
        _("Documents"),
        "file-earmark-text",
        "documents/",
        "documents:templates",
        description=_("Document templates with placeholders, printed as PDF."),
    ),
    Module(
        "staff",
        _("Staff"),
        "person-badge",
        "staff/",
        "clinic:staff-list",
        ("view", "change", "rights"),
    ),
    Module(
        "references",
        _("Reference books"),
        "journal-bookmark",
        "references/",
        "clinic:reference-index",
    ),
    Module("trash", _("Recycle bin"), "trash", "trash/", "clinic:trash"),
    Module("settings", _("Settings"), "gear", "settings/", "clinic:settings"),
    Module("audit", _("Audit log"), "shield-lock", "settings/audit/", "clinic:audit", ("view",)),
)

MODULES_BY_KEY: dict[str, Module] = {module.key: module for module in MODULES}


def permission_codename(module: str, action: str) -> str:
    return f"{module}_{action}"


def all_permissions() -> tuple[tuple[str, str], ...]:
    """(codename, name) pairs for ``ModuleRight.Meta.permissions``."""
    return tuple(
        (permission_codename(module.key, action), f"{module.key}: {action}")
        for module in MODULES
        for action in module.actions
    )


def check_access_declaration(module: str, action: str) -> None:
    if module not in MODULES_BY_KEY:
        raise ValueError(f"Unknown module {module!r}")
    if action not in MODULES_BY_KEY[module].actions:
        raise ValueError(f"Module {module!r} has no action {action!r}")
