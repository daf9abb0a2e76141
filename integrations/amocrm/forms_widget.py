"""The deal card panel's forms: edit the visit, search free times, book one."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from calendar_app.forms import services_field
from calendar_app.models import VISIT_MINUTES
from calendar_app.selectors import parse_local
from clinic.bounds import CALENDAR_DATES, DateWindowValidator
from clinic.forms import DateInput, Form, TimeInput
from clinic.models import Branch, Chair, Employee
from clinic.permissions import visible_branches

NOTE_MAX = 1000


def _duration_field() -> forms.IntegerField:
    return forms.IntegerField(
        label=_("duration, minutes"),
        min_value=VISIT_MINUTES[0],
        max_value=VISIT_MINUTES[1],
        required=False,
    )


def _date_field() -> forms.DateField:
    return forms.DateField(
        label=_("date"),
        widget=DateInput(),
        validators=[DateWindowValidator(CALENDAR_DATES)],
    )


def _duration(cleaned: dict, form: forms.Form) -> datetime.timedelta | None:
    """The visit's length: as typed, else the chosen services' total."""
    minutes = cleaned.get("duration")
    if not minutes:
        minutes = sum(service.duration_minutes for service in cleaned.get("services") or [])
    if not minutes:
        form.add_error("duration", _("Choose services or give the visit's length."))
        return None
    if not VISIT_MINUTES[0] <= minutes <= VISIT_MINUTES[1]:
        form.add_error("duration", _("The visit is too long."))
        return None
    return datetime.timedelta(minutes=minutes)


def _doctors(user, branch: Branch | None = None):
    doctors = Employee.objects.doctors().for_user(user)
    if branch is not None:
        doctors = doctors.filter(branches=branch)
    return doctors.order_by("last_name", "first_name")


class PanelEditForm(Form):
    """When (date and start), with whom, what for and how long: the visit's branch stays."""

    date = _date_field()
    time = forms.TimeField(label=_("time"), widget=TimeInput(attrs={"step": 300}))
    doctor = forms.ModelChoiceField(label=_("doctor"), queryset=Employee.objects.none())
    services = services_field("data-panel-services")
    duration = _duration_field()

    def __init__(self, *args, user, branch: Branch, **kwargs):
        super().__init__(*args, **kwargs)
        self.branch = branch
        self.fields["doctor"].queryset = _doctors(user, branch)  # type: ignore[attr-defined]

    def clean(self):
        cleaned = super().clean()
        length = _duration(cleaned, self)
        if length and cleaned.get("date") and cleaned.get("time"):
            start = datetime.datetime.combine(cleaned["date"], cleaned["time"])
            cleaned["start"] = start.replace(tzinfo=self.branch.zone)
            cleaned["end"] = cleaned["start"] + length
        return cleaned


class PanelSearchForm(Form):
    """The booking's first step: where, with whom (or anyone), what for, which day."""

    branch = forms.ModelChoiceField(label=_("branch"), queryset=Branch.objects.none())
    doctor = forms.ModelChoiceField(
        label=_("doctor"), queryset=Employee.objects.none(), required=False
    )
    services = services_field("data-panel-services")
    duration = _duration_field()
    date = _date_field()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = visible_branches(user).order_by("position", "pk")
        self.fields["doctor"].queryset = _doctors(user)
        self.fields["doctor"].empty_label = _("any doctor")

    def clean(self):
        cleaned = super().clean()
        cleaned["length"] = _duration(cleaned, self)
        branch, doctor = cleaned.get("branch"), cleaned.get("doctor")
        if branch and doctor and not doctor.branches.filter(pk=branch.pk).exists():
            self.add_error("doctor", _("This doctor does not work in this branch."))
        return cleaned


class PanelBookForm(PanelSearchForm):
    """The second step: the chosen free time (start, doctor, chair) and a note."""

    start = forms.CharField(widget=forms.HiddenInput)
    chair = forms.ModelChoiceField(queryset=Chair.objects.none(), widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("note"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["doctor"].required = True
        self.fields["chair"].queryset = Chair.objects.for_user(user).select_related("branch")

    def clean(self):
        cleaned = super().clean()
        branch, chair = cleaned.get("branch"), cleaned.get("chair")
        if branch and chair and chair.branch_id != branch.pk:
            raise ValidationError(_("This chair is in another branch."))
        if branch and cleaned.get("length") and cleaned.get("start"):
            try:
                start = parse_local(cleaned["start"], branch.zone)
            except ValueError:
                raise ValidationError(_("Bad date or time.")) from None
            cleaned["start"] = start
            cleaned["end"] = start + cleaned["length"]
        return cleaned
