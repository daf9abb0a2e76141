from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from calendar_app.models import Appointment
from clinic.forms import DateInput, Form
from clinic.models import Employee
from clinical import selectors
from clinical.models import MedicalHistoryTemplate, RecordSection


class TeethTextField(forms.CharField):
    """Tooth numbers typed as "36, 46"; any other text is refused by name."""

    def to_python(self, value) -> list[int]:  # type: ignore[override]
        numbers = []
        for part in str(value or "").replace(";", ",").replace(" ", ",").split(","):
            if not part:
                continue
            if not (part.isascii() and part.isdigit() and len(part) <= 2):
                raise ValidationError(
                    _("There is no tooth %(tooth)s in the FDI numbering.") % {"tooth": part[:10]},
                    code="no_such_tooth",
                )
            numbers.append(int(part))
        return numbers


def section_field(section: RecordSection, **kwargs) -> forms.CharField:
    return forms.CharField(
        label=section.label, required=False, widget=forms.Textarea(attrs={"rows": 2}), **kwargs
    )


class MedicalRecordForm(Form):
    recorded_on = forms.DateField(label=gettext_lazy("Date"), widget=DateInput())
    doctor = forms.ModelChoiceField(label=gettext_lazy("Doctor"), queryset=Employee.objects.none())
    appointment = forms.ModelChoiceField(
        label=gettext_lazy("Visit"),
        queryset=Appointment.objects.none(),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("This visit is not one of the patient's.")},
    )
    teeth = TeethTextField(
        label=gettext_lazy("Teeth"), required=False, help_text=gettext_lazy("FDI numbers: 36, 46")
    )
    complaints = section_field(RecordSection.COMPLAINTS)
    anamnesis = section_field(RecordSection.ANAMNESIS)
    objective = section_field(RecordSection.OBJECTIVE)
    local_status = section_field(RecordSection.LOCAL_STATUS)
    diagnoses = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Diagnoses (ICD-10)"),
        queryset=selectors.diagnosis_choices(),
        error_messages={
            "invalid_choice": gettext_lazy("This diagnosis is not in the ICD-10 list."),
            "invalid_pk_value": gettext_lazy("This diagnosis is not in the ICD-10 list."),
            "required": gettext_lazy("Choose at least one diagnosis (ICD-10)."),
        },
    )
    treatment = section_field(RecordSection.TREATMENT)
    recommendations = section_field(
        RecordSection.RECOMMENDATIONS, help_text=gettext_lazy("One recommendation a line.")
    )

    def __init__(self, *args, user, patient, correction: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = (  # type: ignore[attr-defined]
            Employee.objects.for_user(user).doctors()
        )
        self.fields["appointment"].queryset = (  # type: ignore[attr-defined]
            Appointment.objects.for_user(user).filter(patient=patient).order_by("-start")
        )
        self.fields["diagnoses"].widget.attrs["data-tom-select"] = ""
        for name in RecordSection.values:
            self.fields[name].widget.attrs["data-record-section"] = name
        if correction:
            self.fields["reason"] = forms.CharField(
                label=gettext_lazy("Reason for the correction"), max_length=500
            )

    def record_data(self) -> dict:
        data = self.cleaned_data
        return {
            name: data[name]
            for name in ("recorded_on", "doctor", "appointment", "teeth", *RecordSection.values)
        }


def template_choices():
    """The templates grouped by profession, for the form's picker."""
    return MedicalHistoryTemplate.objects.select_related("profession").order_by(
        "profession__name", "position", "name"
    )


class PerioExamForm(Form):
    """The exam's header; the grid of measurements is read by ``clinical.perio.parse_grid``."""

    examined_on = forms.DateField(label=gettext_lazy("Date"), widget=DateInput())
    doctor = forms.ModelChoiceField(label=gettext_lazy("Doctor"), queryset=Employee.objects.none())
    appointment = forms.ModelChoiceField(
        label=gettext_lazy("Visit"),
        queryset=Appointment.objects.none(),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("This visit is not one of the patient's.")},
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 1}),
    )

    def __init__(self, *args, user, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = (  # type: ignore[attr-defined]
            Employee.objects.for_user(user).doctors()
        )
        self.fields["appointment"].queryset = (  # type: ignore[attr-defined]
            Appointment.objects.for_user(user).filter(patient=patient).order_by("-start")
        )
