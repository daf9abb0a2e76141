import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from calendar_app.models import (
    LONGEST,
    VISIT_MINUTES,
    StatusCode,
    VisitType,
    WaitingListEntry,
)
from calendar_app.selectors import parse_local
from calendar_app.services import Line
from clinic.bounds import CALENDAR_DATES, ID_MAX, DateWindowValidator, parse_id
from clinic.forms import (
    DateInput,
    Form,
    ModelForm,
    ReadAheadIdsChoiceField,
    ShapedChoiceField,
    TimeInput,
)
from clinic.models import Branch, Chair, Employee, Profession, ProfessionKind
from clinic.shapes import Shape
from clinic.teeth import parse_teeth
from patients.models import Patient
from pricelist.models import Service

# The dialog's field of a per-tooth service's teeth: "teeth-<service id>".
TEETH_FIELD = "teeth-"

WEEKDAYS = [
    (0, _("Mon")),
    (1, _("Tue")),
    (2, _("Wed")),
    (3, _("Thu")),
    (4, _("Fri")),
    (5, _("Sat")),
    (6, _("Sun")),
]


def chairs_in(branch: Branch | int):
    # With its branch: the booking service reads the chair's branch (and zone).
    return Chair.objects.filter(branch=branch).select_related("branch")


def doctors_in(branch: Branch | int):
    return Employee.objects.doctors().filter(branches=branch)


# The chosen chair and doctor, as every booking, move and shift validates them.
CHAIR_IN_BRANCH = Shape(lambda *, pk, branch: chairs_in(branch).filter(pk=pk), name="chair")
DOCTOR_IN_BRANCH = Shape(lambda *, pk, branch: doctors_in(branch).filter(pk=pk), name="doctor")
PATIENT = Shape(lambda *, pk: Patient.objects.filter(pk=pk), name="patient")


def chair_field(**kwargs) -> ShapedChoiceField:
    return ShapedChoiceField(
        label=_("chair"), queryset=Chair.objects.none(), shape=CHAIR_IN_BRANCH, **kwargs
    )


def doctor_field(**kwargs) -> ShapedChoiceField:
    return ShapedChoiceField(
        label=_("doctor"), queryset=Employee.objects.none(), shape=DOCTOR_IN_BRANCH, **kwargs
    )


class BranchBoundMixin:
    """Choices limited to one branch: its chairs and the doctors who work there."""

    branch: Branch

    def bind_branch(self, branch: Branch) -> None:
        self.branch = branch
        fields = self.fields  # type: ignore[attr-defined]
        for name, queryset in (
            ("chair", lambda: chairs_in(branch).order_by("position", "pk")),
            ("doctor", lambda: doctors_in(branch).order_by("last_name", "first_name")),
        ):
            if name not in fields:
                continue
            if isinstance(fields[name], ShapedChoiceField):
                fields[name].bind(queryset, branch=branch.pk)
            else:
                fields[name].queryset = queryset()


def patient_label(patient: Patient) -> str:
    return f"{patient.full_name} · № {patient.card_number}"


class PatientPicker(forms.Select):
    """Offers only the chosen patient as an <option> (the rest come from the search API as
    the user types), read when the widget renders: a form that is only validated reads no
    patient for it."""

    def optgroups(self, name, value, attrs=None):
        ids = [pk for pk in map(parse_id, value) if pk]
        chosen = Patient.objects.filter(pk__in=ids) if ids else Patient.objects.none()
        self.choices = [("", ""), *((patient.pk, patient_label(patient)) for patient in chosen)]
        return super().optgroups(name, value, attrs)


def services_field(marker: str) -> forms.ModelMultipleChoiceField:
    """Services of the price list in its order, for a picker the page's script finds by
    the ``marker`` attribute; the chosen ones are read with the form's other choices."""
    return ReadAheadIdsChoiceField(
        label=_("services"),
        required=False,
        queryset=Service.objects.select_related("category").order_by(
            "category__position", "position"
        ),
        widget=forms.SelectMultiple(attrs={marker: ""}),
    )


class PatientChoiceField(ShapedChoiceField):
    """A patient picked through the search API (Tom Select loads options as you type).
    Validation checks the value against every live patient."""

    def __init__(self, **kwargs):
        super().__init__(
            queryset=Patient.objects.all(),
            shape=PATIENT,
            label=_("patient"),
            widget=PatientPicker(attrs={"data-patient-picker": ""}),
            **kwargs,
        )

    def label_from_instance(self, obj: Patient) -> str:
        return patient_label(obj)


class AppointmentForm(BranchBoundMixin, Form):
    patient = PatientChoiceField()
    doctor = doctor_field()
    chair = chair_field()
    date = forms.DateField(label=_("date"), widget=DateInput())
    time = forms.TimeField(label=_("time"), widget=TimeInput(attrs={"step": 300}))
    duration_minutes = forms.IntegerField(
        label=_("duration, minutes"),
        min_value=VISIT_MINUTES[0],
        max_value=VISIT_MINUTES[1],
        initial=30,
    )
    services = services_field("data-service-picker")
    visit_type = forms.ChoiceField(
        label=_("visit"),
        choices=[("", _("by the patient's status")), *VisitType.choices],
        required=False,
    )
    note = forms.CharField(
        label=_("note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    allow_outside_shift = forms.BooleanField(required=False, widget=forms.HiddenInput)
    waitlist = forms.IntegerField(
        required=False, min_value=1, max_value=ID_MAX, widget=forms.HiddenInput
    )

    def __init__(
        self, *args, branch: Branch, service_teeth: dict[int, str] | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.bind_branch(branch)
        # The teeth each per-tooth service is on, as the dialog shows them ("36, 46").
        self.service_teeth = service_teeth or {}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date") and cleaned.get("time") and cleaned.get("duration_minutes"):
            start = datetime.datetime.combine(
                cleaned["date"], cleaned["time"], tzinfo=self.branch.zone
            )
            cleaned["start"] = start
            cleaned["end"] = start + datetime.timedelta(minutes=cleaned["duration_minutes"])
        if "services" in cleaned:
            cleaned["lines"] = self._lines(cleaned["services"])
        return cleaned

    def teeth_text(self, service_id: int) -> str:
        if self.is_bound:
            return self.data.get(f"{TEETH_FIELD}{service_id}", "")
        return self.service_teeth.get(service_id, "")

    def selected_service_ids(self) -> list[int]:
        """The services the dialog shows as chosen, from the data or the initial values."""
        if self.is_bound:
            values = self.data.getlist(self.add_prefix("services"))  # type: ignore[attr-defined]
        else:
            values = self.initial.get("services") or []
        return [pk for pk in map(parse_id, values) if pk]

    def _lines(self, chosen) -> list[Line]:
        """A line per service, or per tooth of a per-tooth service given teeth."""
        lines: list[Line] = []
        for service in chosen:
            try:
                numbers = parse_teeth(self.teeth_text(service.pk)) if service.per_tooth else []
            except ValidationError as error:
                self.add_error(
                    "services",
                    _("%(service)s: %(error)s")
                    % {"service": service.name, "error": error.messages[0]},
                )
                continue
            if numbers:
                lines.extend(Line(service, tooth=tooth) for tooth in numbers)
            else:
                lines.append(Line(service))
        return lines


class MoveForm(Form):
    """A drag or resize on the calendar (times in the branch's local time). The calendar
    shows one branch: a visit or a shift is dropped on a chair of that branch."""

    start = forms.CharField(max_length=40)
    end = forms.CharField(max_length=40)
    chair = forms.ModelChoiceField(
        queryset=Chair.objects.all(),
        required=False,
        error_messages={"invalid_choice": _("There is no such chair; reload the calendar.")},
    )
    allow_outside_shift = forms.BooleanField(required=False)

    def __init__(self, *args, branch: Branch, **kwargs):
        super().__init__(*args, **kwargs)
        self.branch = branch

    def clean_chair(self) -> Chair | None:
        chair = self.cleaned_data["chair"]
        if chair is not None and chair.branch_id != self.branch.pk:
            raise ValidationError(
                _("This chair is in another branch; the calendar moves within %(branch)s.")
                % {"branch": self.branch}
            )
        return chair

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["start"] = parse_local(cleaned.get("start", ""), self.branch.zone)
            cleaned["end"] = parse_local(cleaned.get("end", ""), self.branch.zone)
        except ValueError as exc:
            raise ValidationError(_("Bad date or time.")) from exc
        return cleaned


class RescheduleForm(BranchBoundMixin, Form):
    """ "Move patient": another day, time, doctor or chair."""

    date = forms.DateField(label=_("date"), widget=DateInput())
    time = forms.TimeField(label=_("time"), widget=TimeInput(attrs={"step": 300}))
    doctor = doctor_field()
    chair = chair_field()
    allow_outside_shift = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, branch: Branch, duration: datetime.timedelta, **kwargs):
        super().__init__(*args, **kwargs)
        self.bind_branch(branch)
        self.duration = duration

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date") and cleaned.get("time"):
            start = datetime.datetime.combine(
                cleaned["date"], cleaned["time"], tzinfo=self.branch.zone
            )
            cleaned["start"], cleaned["end"] = start, start + self.duration
        return cleaned


class StatusForm(Form):
    status = forms.ChoiceField(
        choices=[c for c in StatusCode.choices if c[0] != StatusCode.CANCELLED]
    )


class CancelForm(Form):
    REASONS = [
        _("The patient asked to cancel"),
        _("The patient is ill"),
        _("The doctor is ill"),
        _("Rescheduled by the clinic"),
        _("Did not confirm"),
    ]
    reason = forms.CharField(label=_("reason"), max_length=300)


def _length(start: datetime.time, end: datetime.time) -> datetime.timedelta:
    return datetime.datetime.combine(datetime.date.min, end) - datetime.datetime.combine(
        datetime.date.min, start
    )


class ShiftForm(BranchBoundMixin, Form):
    SINGLE, ON_WEEKDAYS, EVERY_OTHER, RANGE = "single", "weekdays", "every_other", "range"
    doctor = doctor_field()
    chair = chair_field()
    pattern = forms.ChoiceField(
        label=_("schedule"),
        widget=forms.RadioSelect,
        initial=SINGLE,
        choices=[
            (SINGLE, _("one day")),
            (ON_WEEKDAYS, _("on weekdays")),
            (EVERY_OTHER, _("every other day")),
            (RANGE, _("every day of a period")),
        ],
    )
    date = forms.DateField(label=_("date"), widget=DateInput())
    date_to = forms.DateField(label=_("until"), widget=DateInput(), required=False)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("days of the week"),
        coerce=int,
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    time_from = forms.TimeField(label=_("from"), widget=TimeInput())
    time_to = forms.TimeField(label=_("to"), widget=TimeInput())

    def __init__(self, *args, branch: Branch, **kwargs):
        super().__init__(*args, **kwargs)
        self.bind_branch(branch)

    def clean(self):
        cleaned = super().clean()
        start, until, pattern = cleaned.get("date"), cleaned.get("date_to"), cleaned.get("pattern")
        time_from, time_to = cleaned.get("time_from"), cleaned.get("time_to")
        if time_from and time_to and time_to <= time_from:
            self.add_error("time_to", _("The shift must end after it starts."))
        elif time_from and time_to and _length(time_from, time_to) > LONGEST:
            self.add_error("time_to", _("A shift cannot be longer than 12 hours."))
        if not start or not pattern:
            return cleaned
        if pattern == self.SINGLE:
            cleaned["dates"] = [start]
            return cleaned
        if not until:
            self.add_error("date_to", _("Give the last day of the schedule."))
            return cleaned
        if until < start:
            self.add_error("date_to", _("The last day is before the first."))
            return cleaned
        if (until - start).days > 366:
            self.add_error("date_to", _("Plan at most a year ahead at once."))
            return cleaned
        days = [start + datetime.timedelta(days=n) for n in range((until - start).days + 1)]
        if pattern == self.ON_WEEKDAYS:
            chosen = set(cleaned.get("weekdays") or [])
            if not chosen:
                self.add_error("weekdays", _("Choose the days of the week."))
                return cleaned
            days = [day for day in days if day.weekday() in chosen]
        elif pattern == self.EVERY_OTHER:
            days = days[::2]
        cleaned["dates"] = days
        return cleaned


class WaitlistForm(BranchBoundMixin, ModelForm):
    patient = PatientChoiceField()
    duration_minutes = forms.IntegerField(
        label=_("duration, minutes"),
        min_value=VISIT_MINUTES[0],
        max_value=VISIT_MINUTES[1],
        initial=30,
    )
    preferred_weekdays = forms.TypedMultipleChoiceField(
        label=_("preferred days"),
        coerce=int,
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WaitingListEntry
        fields = [
            "patient",
            "doctor",
            "profession",
            "duration_minutes",
            "preferred_weekdays",
            "preferred_time_from",
            "preferred_time_to",
            "comment",
        ]
        widgets = {"preferred_time_from": TimeInput(), "preferred_time_to": TimeInput()}

    def __init__(self, *args, branch: Branch, **kwargs):
        super().__init__(*args, **kwargs)
        self.bind_branch(branch)
        self.fields["profession"].queryset = Profession.objects.filter(  # type: ignore[attr-defined]
            kind=ProfessionKind.DOCTOR
        )

    def clean(self):
        cleaned = super().clean()
        time_from, time_to = cleaned.get("preferred_time_from"), cleaned.get("preferred_time_to")
        if time_from and time_to and time_to <= time_from:
            self.add_error("preferred_time_to", _("The time range ends before it starts."))
        return cleaned


class FindTimeForm(Form):
    """The "find a time" search (a GET form): what for, with whom, where, when.

    Missing dates mean the coming week; an empty length means the services' durations added
    up; hours, when given, take the place of the part of the day."""

    MAX_DAYS = 31
    ANY, MORNING, AFTERNOON, EVENING, HOURS = "any", "morning", "afternoon", "evening", "hours"
    # The whole visit lies within the part of the day (as the slot finder's hours do).
    PARTS_OF_DAY = {
        ANY: (None, None),
        MORNING: (None, datetime.time(12)),
        AFTERNOON: (datetime.time(12), datetime.time(17)),
        EVENING: (datetime.time(17), None),
    }

    services = services_field("data-find-services")
    duration = forms.IntegerField(
        label=_("duration, minutes"),
        required=False,
        min_value=VISIT_MINUTES[0],
        max_value=VISIT_MINUTES[1],
        help_text=_("Empty: the services' durations add up."),
    )
    doctor = forms.ModelChoiceField(
        label=_("doctor"), required=False, queryset=Employee.objects.none()
    )
    profession = forms.ModelChoiceField(
        label=_("or a profession"),
        required=False,
        queryset=Profession.objects.filter(kind=ProfessionKind.DOCTOR),
    )
    branch = forms.ModelChoiceField(
        label=_("branch"), required=False, queryset=Branch.objects.none()
    )
    date_from = forms.DateField(
        label=_("from"),
        required=False,
        widget=DateInput(),
        validators=[DateWindowValidator(CALENDAR_DATES)],
    )
    date_to = forms.DateField(
        label=_("to"),
        required=False,
        widget=DateInput(),
        validators=[DateWindowValidator(CALENDAR_DATES)],
    )
    part_of_day = forms.ChoiceField(
        label=_("time of day"),
        required=False,
        widget=forms.RadioSelect,
        choices=[
            (ANY, _("any time")),
            (MORNING, _("morning (until 12:00)")),
            (AFTERNOON, _("afternoon (12:00–17:00)")),
            (EVENING, _("evening (from 17:00)")),
            (HOURS, _("these hours")),
        ],
    )
    hours_from = forms.TimeField(label=_("from"), required=False, widget=TimeInput())
    hours_to = forms.TimeField(label=_("to"), required=False, widget=TimeInput())

    def __init__(self, data=None, *, doctors, branches, today: datetime.date, **kwargs):
        if data is not None and not (data.get("date_from") and data.get("date_to")):
            # A short shared link ("?profession=3&services=5") searches the coming week,
            # and the form shows the dates it searched.
            data = data.copy()
            first = data.get("date_from") or today.isoformat()
            data["date_from"] = first
            if not data.get("date_to"):
                try:
                    last = datetime.date.fromisoformat(first) + datetime.timedelta(days=6)
                except (ValueError, OverflowError):
                    last = today + datetime.timedelta(days=6)
                data["date_to"] = last.isoformat()
        super().__init__(data, **kwargs)
        self.today = today
        self.fields["doctor"].queryset = doctors  # type: ignore[attr-defined]
        self.fields["doctor"].empty_label = _("anyone")  # type: ignore[attr-defined]
        self.fields["profession"].empty_label = _("any profession")  # type: ignore[attr-defined]
        self.fields["branch"].queryset = branches  # type: ignore[attr-defined]
        self.fields["branch"].empty_label = _("all my branches")  # type: ignore[attr-defined]
        self.fields["part_of_day"].initial = self.ANY
        self.fields["date_from"].initial = today
        self.fields["date_to"].initial = today + datetime.timedelta(days=6)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("doctor") and cleaned.get("profession"):
            self.add_error("profession", _("Choose a doctor or a profession, not both."))
        self._clean_dates(cleaned)
        self._clean_duration(cleaned)
        self._clean_hours(cleaned)
        return cleaned

    def _clean_dates(self, cleaned: dict) -> None:
        if self.has_error("date_from") or self.has_error("date_to"):
            return
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if not (date_from and date_to):
            return
        if date_to < date_from:
            self.add_error("date_to", _("The last day is before the first."))
        elif (date_to - date_from).days >= self.MAX_DAYS:
            self.add_error(
                "date_to",
                _("Search at most %(days)s days at once.") % {"days": self.MAX_DAYS},
            )

    def _clean_duration(self, cleaned: dict) -> None:
        if self.has_error("duration") or self.has_error("services"):
            return
        if cleaned.get("duration"):
            return
        services = cleaned.get("services") or []
        if not services:
            self.add_error("duration", _("Choose services or give the visit's length."))
            return
        minutes = sum(service.duration_minutes for service in services)
        if not VISIT_MINUTES[0] <= minutes <= VISIT_MINUTES[1]:
            self.add_error(
                "duration",
                _("The services take %(minutes)s minutes; give a length from %(min)s to %(max)s.")
                % {"minutes": minutes, "min": VISIT_MINUTES[0], "max": VISIT_MINUTES[1]},
            )
            return
        cleaned["duration"] = minutes

    def _clean_hours(self, cleaned: dict) -> None:
        hours_from, hours_to = cleaned.get("hours_from"), cleaned.get("hours_to")
        part = cleaned.get("part_of_day") or self.ANY
        if hours_from or hours_to:
            part = self.HOURS
            if hours_from and hours_to and hours_to <= hours_from:
                self.add_error("hours_to", _("The time range ends before it starts."))
            cleaned["window"] = (hours_from, hours_to)
        elif part == self.HOURS:
            self.add_error("hours_from", _("Give the hours, or choose a part of the day."))
        else:
            cleaned["window"] = self.PARTS_OF_DAY[part]
        cleaned["part_of_day"] = part
