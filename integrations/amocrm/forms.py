"""Forms of the amoCRM pages: connecting, the setup wizard's steps, the decisions.

The wizard's choices are what the account holds, read from amoCRM for the page and again
for the POST: an id that is not among them is refused as any invalid choice. Each step's
``values()`` is the part of ``Connection.settings`` it writes (keys as ``AmoSettings.of``
reads them).
"""

import datetime
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from calendar_app.models import StatusCode
from clinic.bounds import parse_id
from clinic.forms import DateInput, Form, TimeInput
from integrations.amocrm.config import (
    APP_ACCOUNTS_TIME,
    LEAD_FIELDS,
    OWNER_CHOICES,
    PATIENT_FIELDS,
    SETTLE_DEFAULT,
    SETTLE_MAX,
    SETTLE_MIN,
    VISIT_STATUSES,
)
from integrations.amocrm.setup import MIS_ID_CODE, account_address

_CLIENT_ID = re.compile(r"[A-Za-z0-9-]{1,100}")
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]+")

NONE = ("", _("— none —"))
OWNER_LABELS = {
    "both": _("Both ways (the last change wins)"),
    "odonta": _("Odonta only"),
    "amocrm": _("amoCRM only"),
}
PATIENT_FIELD_LABELS = {
    "full_name": _("Full name"),
    "phone": _("Phone"),
    "birth_date": _("Date of birth"),
    "gender": _("Gender"),
}
LEAD_FIELD_LABELS = {
    "date": _("Visit date"),
    "time": _("Visit time"),
    "duration": _("Duration"),
    "doctor": _("Doctor"),
    "branch": _("Branch"),
    "services": _("Services"),
}
STATUS_LABELS = dict(StatusCode.choices)
BIRTH_DATE_TYPES = ("date", "birthday")
GENDER_TYPES = ("select", "radiobutton")
APP_ACCOUNT_TYPES = ("text", "textarea")


class ConnectOAuthForm(Form):
    base_url = forms.CharField(
        label=_("Account address"),
        max_length=300,
        help_text=_("Such as https://clinic.amocrm.ru or https://clinic.kommo.com."),
    )
    client_id = forms.CharField(label=_("Integration ID (client_id)"), max_length=100)
    client_secret = forms.CharField(
        label=_("Secret key (client_secret)"), max_length=200, widget=forms.PasswordInput()
    )

    def clean_base_url(self) -> str:
        return account_address(self.cleaned_data["base_url"])

    def clean_client_id(self) -> str:
        value = self.cleaned_data["client_id"].strip()
        if not _CLIENT_ID.fullmatch(value):
            raise ValidationError(_("Copy the integration ID from amoCRM as it is."))
        return value

    def clean_client_secret(self) -> str:
        value = self.cleaned_data["client_secret"].strip()
        if not value.isprintable() or " " in value:
            raise ValidationError(_("Copy the secret key from amoCRM as it is."))
        return value


class ConnectTokenForm(Form):
    base_url = forms.CharField(
        label=_("Account address"),
        max_length=300,
        help_text=_("Such as https://clinic.amocrm.ru or https://clinic.kommo.com."),
    )
    access_token = forms.CharField(
        label=_("Long-lived token"),
        max_length=4000,
        widget=forms.PasswordInput(),
        help_text=_(
            "amoCRM: the private integration → Keys and scopes → Generate a long-lived token."
        ),
    )

    def clean_base_url(self) -> str:
        return account_address(self.cleaned_data["base_url"])

    def clean_access_token(self) -> str:
        value = "".join(self.cleaned_data["access_token"].split())
        if not _TOKEN.fullmatch(value):
            raise ValidationError(_("Copy the token from amoCRM as it is."))
        return value


class PipelineForm(Form):
    def __init__(self, *args, pipelines: list[dict[str, Any]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pipeline"] = forms.ChoiceField(
            label=_("Pipeline of the visits' deals"),
            choices=[(str(p["id"]), str(p.get("name") or p["id"])) for p in pipelines],
        )
        self.style_fields()

    def values(self) -> dict[str, Any]:
        return {"pipeline_id": int(self.cleaned_data["pipeline"])}


def _field_choices(fields: list[dict[str, Any]], types: tuple[str, ...] | None = None) -> list:
    return [NONE] + [
        (str(f["id"]), f"{f.get('name') or f['id']} ({f.get('type')})")
        for f in fields
        if (types is None or f.get("type") in types)
        and str(f.get("code") or "").upper() != MIS_ID_CODE
    ]


class FieldsForm(Form):
    """The contact fields of the date of birth and the gender (with Odonta's genders mapped
    to the gender field's options), and the deal's fields of a visit. (Every field is made
    here, then styled once.)"""

    def __init__(
        self,
        *args,
        contact_fields: list[dict[str, Any]],
        lead_fields: list[dict[str, Any]],
        genders: list,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.genders = genders
        self.fields["birth_date"] = forms.ChoiceField(
            label=_("Date of birth (contact field)"),
            choices=_field_choices(contact_fields, BIRTH_DATE_TYPES),
            required=False,
        )
        self.fields["gender"] = forms.ChoiceField(
            label=_("Gender (contact field)"),
            choices=_field_choices(contact_fields, GENDER_TYPES),
            required=False,
        )
        # Enum id -> the gender field it belongs to; every field's options, grouped.
        self.enum_field: dict[str, str] = {}
        grouped: list = [NONE]
        for field in contact_fields:
            if field.get("type") not in GENDER_TYPES:
                continue
            options = []
            for enum in field.get("enums") or []:
                if parse_id(enum.get("id")) is not None:
                    self.enum_field[str(enum["id"])] = str(field["id"])
                    options.append((str(enum["id"]), str(enum.get("value") or enum["id"])))
            grouped.append((str(field.get("name") or field["id"]), options))
        for gender in genders:
            self.fields[f"gender_{gender.pk}"] = forms.ChoiceField(
                label=_("Odonta's “%(name)s” is") % {"name": gender.name},
                choices=grouped,
                required=False,
            )
        self.fields["app_account"] = forms.ChoiceField(
            label=_("Patient app account (contact field)"),
            choices=_field_choices(contact_fields, APP_ACCOUNT_TYPES),
            required=False,
            help_text=_("A text field; empty: app accounts are not written to amoCRM."),
        )
        self.fields["app_accounts_time"] = forms.TimeField(
            label=_("Daily app account sync at"),
            widget=TimeInput(),
            required=False,
            help_text=_("Once a day after this time (the clinic's time zone)."),
        )
        lead_choices = _field_choices(lead_fields)
        for name in LEAD_FIELDS:
            self.fields[f"lead_{name}"] = forms.ChoiceField(
                label=LEAD_FIELD_LABELS[name], choices=lead_choices, required=False
            )
        self.style_fields()

    def gender_fields(self) -> list:
        return [self[f"gender_{gender.pk}"] for gender in self.genders]

    def lead_fields(self) -> list:
        return [self[f"lead_{name}"] for name in LEAD_FIELDS]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        gender_field = cleaned.get("gender")
        for gender in self.genders:
            enum = cleaned.get(f"gender_{gender.pk}")
            if enum and self.enum_field.get(enum) != gender_field:
                self.add_error(
                    f"gender_{gender.pk}", _("Pick an option of the chosen gender field.")
                )
        return cleaned

    def values(self, *, contact_mis_id: int, lead_mis_id: int) -> dict[str, Any]:
        data = self.cleaned_data
        contact = {"mis_id": contact_mis_id}
        if data["birth_date"]:
            contact["birth_date"] = int(data["birth_date"])
        if data["gender"]:
            contact["gender"] = int(data["gender"])
        if data.get("app_account"):
            contact["app_account"] = int(data["app_account"])
        enums = {
            str(gender.pk): int(data[f"gender_{gender.pk}"])
            for gender in self.genders
            if data["gender"] and data.get(f"gender_{gender.pk}")
        }
        lead = {"mis_id": lead_mis_id}
        lead.update(
            {name: int(data[f"lead_{name}"]) for name in LEAD_FIELDS if data[f"lead_{name}"]}
        )
        time = data.get("app_accounts_time") or APP_ACCOUNTS_TIME
        return {
            "contact_fields": contact,
            "gender_enums": enums,
            "lead_fields": lead,
            "app_accounts": {"time": time.strftime("%H:%M")},
        }


class StatusesForm(Form):
    """Which stage each visit status moves the deal to, and which status each stage sets.
    (Every field is made here, then styled once.)"""

    def __init__(
        self,
        *args,
        stages: list[dict[str, Any]],
        loss_reasons: list[dict[str, Any]],
        lost: int,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.stages, self.lost = stages, lost
        stage_choices = [NONE] + [(str(s["id"]), str(s.get("name") or s["id"])) for s in stages]
        status_choices = [NONE] + [(code, STATUS_LABELS.get(code, code)) for code in VISIT_STATUSES]
        for code in VISIT_STATUSES:
            self.fields[f"to_{code}"] = forms.ChoiceField(
                label=STATUS_LABELS.get(code, code), choices=stage_choices, required=False
            )
        for stage in stages:
            self.fields[f"stage_{stage['id']}"] = forms.ChoiceField(
                label=str(stage.get("name") or stage["id"]), choices=status_choices, required=False
            )
        self.has_loss_reasons = bool(loss_reasons)
        self.fields["loss_reason"] = forms.ChoiceField(
            label=_("Loss reason of a cancelled visit or a no-show"),
            choices=[NONE]
            + [
                (str(r["id"]), str(r.get("name") or r["id"]))
                for r in loss_reasons
                if parse_id(r.get("id")) is not None
            ],
            required=False,
        )
        self.style_fields()

    def to_stage_fields(self) -> list:
        return [self[f"to_{code}"] for code in VISIT_STATUSES]

    def from_stage_fields(self) -> list:
        return [self[f"stage_{stage['id']}"] for stage in self.stages]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        lost = str(self.lost)
        closes_lost = any(cleaned.get(f"to_{code}") == lost for code in ("cancelled", "no_show"))
        if closes_lost and self.has_loss_reasons and not cleaned.get("loss_reason"):
            self.add_error(
                "loss_reason",
                _("Cancelled visits or no-shows close the deal as lost: choose the loss reason."),
            )
        return cleaned

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "status_to_stage": {
                code: int(data[f"to_{code}"]) for code in VISIT_STATUSES if data[f"to_{code}"]
            },
            "stage_to_status": {
                str(stage["id"]): data[f"stage_{stage['id']}"]
                for stage in self.stages
                if data[f"stage_{stage['id']}"]
            },
            "loss_reason_id": int(data["loss_reason"]) if data["loss_reason"] else None,
        }


SETTLE_ERROR = _("The settle time is a whole number of seconds from 1 to 60.")
RESPONSIBLE_SWITCHES = {
    "in_contact": (
        _("amoCRM → Odonta: from the contact"),
        _("A new responsible of the patient's contact becomes the patient's coordinator."),
    ),
    "in_lead": (
        _("amoCRM → Odonta: from the deals"),
        _("A new responsible of a visit's deal becomes the patient's coordinator."),
    ),
    "out_contact": (
        _("Odonta → amoCRM: to the contact"),
        _("A coordinator changed in Odonta becomes the contact's responsible."),
    ),
    "out_lead": (
        _("Odonta → amoCRM: to the deals"),
        _(
            "A coordinator changed in Odonta becomes the responsible of every open deal of the "
            "patient's visits; new deals get it instead of the doctor's user."
        ),
    ),
}


class UsersForm(Form):
    """Each employee's amoCRM user (the deal's responsible user), or none; and the switches
    of the responsible sync (``responsible.py``). When several switches of "amoCRM → Odonta"
    are on, the entity changed last wins."""

    def __init__(self, *args, employees: list, users: list[dict[str, Any]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.employees = employees
        for name, (label, help_text) in RESPONSIBLE_SWITCHES.items():
            self.fields[f"responsible_{name}"] = forms.BooleanField(
                label=label, help_text=help_text, required=False
            )
        self.fields["settle_seconds"] = forms.IntegerField(
            label=_("Settle time, seconds"),
            help_text=_(
                "A change in amoCRM that comes this soon after Odonta wrote the responsible "
                "is taken as crossing it and is not applied back (5 by default)."
            ),
            required=False,
            error_messages={"invalid": SETTLE_ERROR, "max_value": SETTLE_ERROR},
            max_value=SETTLE_MAX,
        )
        self.fields["settle_seconds"].widget.attrs.update(min=SETTLE_MIN, max=SETTLE_MAX)
        choices = [NONE] + [
            (
                str(u["id"]),
                f"{u.get('name') or u['id']}" + (f" <{u['email']}>" if u.get("email") else ""),
            )
            for u in users
        ]
        for employee in employees:
            self.fields[f"employee_{employee.pk}"] = forms.ChoiceField(
                label=employee.full_name, choices=choices, required=False
            )
        self.style_fields()

    def employee_fields(self) -> list:
        return [self[f"employee_{employee.pk}"] for employee in self.employees]

    def responsible_fields(self) -> list:
        return [self[f"responsible_{name}"] for name in RESPONSIBLE_SWITCHES]

    def clean_settle_seconds(self) -> int:
        value = self.cleaned_data.get("settle_seconds")
        if value is None:
            return SETTLE_DEFAULT
        if value < SETTLE_MIN:
            raise ValidationError(SETTLE_ERROR)
        return value

    def values(self, previous: dict[str, int]) -> dict[str, Any]:
        """The mapping of the employees shown; others' (another branch's) stay as they were."""
        users = {key: value for key, value in previous.items()}
        for employee in self.employees:
            value = self.cleaned_data[f"employee_{employee.pk}"]
            if value:
                users[str(employee.pk)] = int(value)
            else:
                users.pop(str(employee.pk), None)
        data = self.cleaned_data
        responsible = {
            direction: {
                kind: data[f"responsible_{direction}_{kind}"] for kind in ("contact", "lead")
            }
            for direction in ("in", "out")
        }
        return {
            "users": users,
            "responsible": {**responsible, "settle_seconds": data["settle_seconds"]},
        }


class OwnersForm(Form):
    """Which side's changes of each patient field flow to the other."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [(owner, OWNER_LABELS[owner]) for owner in OWNER_CHOICES]
        for name in PATIENT_FIELDS:
            self.fields[f"owner_{name}"] = forms.ChoiceField(
                label=PATIENT_FIELD_LABELS.get(name, name), choices=choices
            )
        self.style_fields()

    def values(self) -> dict[str, Any]:
        return {"owners": {name: self.cleaned_data[f"owner_{name}"] for name in PATIENT_FIELDS}}


class DecisionResolveForm(Form):
    """Link the remote contact to one of the candidates, or create a new patient from it."""

    decision = forms.CharField(max_length=20)
    patient = forms.CharField(max_length=20, required=False)
    create = forms.BooleanField(required=False)

    def clean_decision(self) -> int:
        value = parse_id(self.cleaned_data["decision"])
        if value is None:
            raise ValidationError(_("No such decision."))
        return value

    def clean_patient(self) -> int | None:
        raw = self.cleaned_data["patient"]
        if not raw:
            return None
        value = parse_id(raw)
        if value is None:
            raise ValidationError(_("No such patient."))
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if not self.errors and bool(cleaned.get("patient")) == bool(cleaned.get("create")):
            raise ValidationError(_("Choose a patient to link, or create a new one."))
        return cleaned


class AppAccountsRangeForm(Form):
    """The patients list's "Sync app accounts": the days of activation to sync (the clinic's
    time zone), at most ``MAX_DAYS`` apart, none after today."""

    MAX_DAYS = 3660

    date_from = forms.DateField(label=_("Activated from"), widget=DateInput())
    date_to = forms.DateField(label=_("Activated to"), widget=DateInput())

    def __init__(self, *args, today: datetime.date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end:
            if start > end:
                self.add_error("date_to", _("The end is before the start."))
            elif (end - start).days > self.MAX_DAYS:
                self.add_error("date_from", _("Choose at most ten years."))
            elif start > self.today:
                self.add_error("date_from", _("No account is activated in the future."))
        return cleaned
