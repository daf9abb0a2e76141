"""What a clinic set up for its amoCRM connection, read from ``Connection.settings``.

The setup wizard writes these keys; the sync reads them through ``AmoSettings`` (defaults
filled in, ids as ints), never the raw dict. Credentials are not here: they live encrypted
in ``Connection.credentials``:

    {"kind": "oauth", "client_id": ..., "client_secret": ..., "redirect_uri": ...,
     "access_token": ..., "refresh_token": ..., "expires_at": <unix seconds>}
    {"kind": "long_lived", "access_token": ..., "expires_at": <unix seconds or null>}
"""

import datetime
from dataclasses import dataclass, field
from typing import Any

SYSTEM = "amocrm"
CONTACT = "contact"  # ExternalLink.external_type of a patient's contact
LEAD = "lead"  # ... and of a visit's deal
WON, LOST = 142, 143  # the closing stages every pipeline has

# Patient fields the sync can carry, and which way each flows by default (the spec:
# Odonta -> amoCRM full name, phone, date of birth; amoCRM -> Odonta those and gender).
# "both": the side changed last wins; "odonta" / "amocrm": only that side's changes flow.
PATIENT_FIELDS = ("full_name", "phone", "birth_date", "gender")
DEFAULT_OWNERS = {"full_name": "both", "phone": "both", "birth_date": "both", "gender": "amocrm"}
OWNER_CHOICES = ("both", "odonta", "amocrm")

# The deal's custom fields the wizard lets the clinic choose (amoCRM field ids).
LEAD_FIELDS = ("date", "time", "duration", "doctor", "branch", "services")

# Visit statuses, and where a stage of amoCRM may send a visit from each (a completed
# visit never goes back to planned, a cancelled one is not "completed" from amoCRM).
VISIT_STATUSES = (
    "planned",
    "confirmed",
    "arrived",
    "in_chair",
    "completed",
    "no_show",
    "cancelled",
)
INBOUND_ALLOWED = {
    "planned": {"confirmed", "arrived", "in_chair", "completed", "no_show", "cancelled"},
    "confirmed": {"planned", "arrived", "in_chair", "completed", "no_show", "cancelled"},
    "arrived": {"in_chair", "completed", "no_show", "cancelled"},
    "in_chair": {"completed", "cancelled"},
    "completed": set(),
    "no_show": {"planned", "confirmed", "cancelled"},
    "cancelled": {"planned", "confirmed"},
}

DEFAULT_WEBHOOK_EVENTS = (
    "add_contact",
    "update_contact",
    "add_lead",
    "update_lead",
    "status_lead",
    "delete_lead",
    "responsible_contact",
    "responsible_lead",
)

# The responsible user sync (``responsible.py``): which entities feed the patient's
# coordinator ("in") and which are written with it ("out"), and the settle window.
RESPONSIBLE_KINDS = ("contact", "lead")
SETTLE_DEFAULT, SETTLE_MIN, SETTLE_MAX = 5, 1, 60


def positive_int(value: Any) -> int | None:
    """An id-like setting or value: a positive int, else None."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _time_of_day(value: Any, default: datetime.time) -> datetime.time:
    try:
        hours, minutes = str(value).split(":")
        return datetime.time(int(hours), int(minutes))
    except (TypeError, ValueError):
        return default


# The patient-app accounts' daily sync runs at this time of day (the clinic's zone) unless
# the wizard's "fields" step says otherwise (``settings["app_accounts"]["time"]``).
APP_ACCOUNTS_TIME = datetime.time(3, 0)


def _int_map(values: Any) -> dict[str, int]:
    if not isinstance(values, dict):
        return {}
    return {str(key): number for key, value in values.items() if (number := positive_int(value))}


def _switches(values: Any) -> dict[str, bool]:
    if not isinstance(values, dict):
        return {}
    return {kind: values.get(kind) is True for kind in RESPONSIBLE_KINDS}


@dataclass
class AmoSettings:
    """A typed view of ``Connection.settings`` for amoCRM (see the module's docstring)."""

    account_id: int | None = None
    subdomain: str = ""
    pipeline_id: int | None = None
    # Contact custom fields: "mis_id", "birth_date", "gender", "app_account" -> amoCRM field id.
    contact_fields: dict[str, int] = field(default_factory=dict)
    # Gender reference item id (str) -> the gender field's enum id in amoCRM.
    gender_enums: dict[str, int] = field(default_factory=dict)
    # Lead custom fields: "mis_id" and LEAD_FIELDS -> amoCRM field id.
    lead_fields: dict[str, int] = field(default_factory=dict)
    # Visit status code -> stage id (WON / LOST allowed) for Odonta -> amoCRM.
    status_to_stage: dict[str, int] = field(default_factory=dict)
    # Stage id (str) -> visit status code for amoCRM -> Odonta (several stages, one status).
    stage_to_status: dict[str, str] = field(default_factory=dict)
    loss_reason_id: int | None = None
    # Employee id (str) -> amoCRM user id.
    users: dict[str, int] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_OWNERS))
    webhook_secret: str = ""
    batch_size: int = 50
    setup_done: bool = False
    # Responsible sync switches: kind ("contact" / "lead") -> on; all off by default.
    responsible_in: dict[str, bool] = field(default_factory=dict)
    responsible_out: dict[str, bool] = field(default_factory=dict)
    settle_seconds: int = SETTLE_DEFAULT
    app_accounts_time: datetime.time = APP_ACCOUNTS_TIME

    @classmethod
    def of(cls, connection) -> "AmoSettings":
        raw = connection.settings if isinstance(connection.settings, dict) else {}
        owners = dict(DEFAULT_OWNERS)
        for name, owner in (raw.get("owners") or {}).items():
            if name in owners and owner in OWNER_CHOICES:
                owners[name] = owner
        batch = positive_int(raw.get("batch_size")) or 50
        responsible = raw.get("responsible")
        if not isinstance(responsible, dict):
            responsible = {}
        return cls(
            account_id=positive_int(raw.get("account_id")),
            subdomain=str(raw.get("subdomain") or ""),
            pipeline_id=positive_int(raw.get("pipeline_id")),
            contact_fields=_int_map(raw.get("contact_fields")),
            gender_enums=_int_map(raw.get("gender_enums")),
            lead_fields=_int_map(raw.get("lead_fields")),
            status_to_stage={
                code: stage
                for code, stage in _int_map(raw.get("status_to_stage")).items()
                if code in VISIT_STATUSES
            },
            stage_to_status={
                str(stage): code
                for stage, code in (raw.get("stage_to_status") or {}).items()
                if code in VISIT_STATUSES and positive_int(stage)
            },
            loss_reason_id=positive_int(raw.get("loss_reason_id")),
            users=_int_map(raw.get("users")),
            owners=owners,
            webhook_secret=str(raw.get("webhook_secret") or ""),
            batch_size=min(batch, 250),
            setup_done=bool(raw.get("setup_done")),
            responsible_in=_switches(responsible.get("in")),
            responsible_out=_switches(responsible.get("out")),
            settle_seconds=min(
                max(positive_int(responsible.get("settle_seconds")) or SETTLE_DEFAULT, SETTLE_MIN),
                SETTLE_MAX,
            ),
            app_accounts_time=_time_of_day(
                (raw.get("app_accounts") or {}).get("time")
                if isinstance(raw.get("app_accounts"), dict)
                else None,
                APP_ACCOUNTS_TIME,
            ),
        )

    def responsible_flows_in(self, kind: str) -> bool:
        return self.responsible_in.get(kind, False)

    def responsible_flows_out(self, kind: str) -> bool:
        return self.responsible_out.get(kind, False)

    @property
    def responsible_on(self) -> bool:
        """Any switch of the responsible sync is on."""
        return any(self.responsible_in.values()) or any(self.responsible_out.values())

    def flows_out(self, name: str) -> bool:
        return self.owners.get(name) in ("both", "odonta")

    def flows_in(self, name: str) -> bool:
        return self.owners.get(name) in ("both", "amocrm")

    def amo_user_for(self, employee_id: int | None) -> int | None:
        return self.users.get(str(employee_id)) if employee_id else None

    def employee_for(self, amo_user_id: int | None) -> int | None:
        for employee_id, user_id in self.users.items():
            if user_id == amo_user_id:
                return int(employee_id)
        return None
