from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy

from calendar_app.models import Appointment
from clinic.forms import Form
from clinic.models import Branch, Employee
from clinical.models import MAX_DOSE_MSV, ImageKind, XrayType
from clinical.record_forms import TeethTextField


class ImageUploadForm(Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("JPEG, PNG or DICOM."),
        widget=forms.ClearableFileInput(attrs={"accept": ".jpg,.jpeg,.png,.dcm,image/*"}),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=ImageKind.choices, initial=ImageKind.XRAY
    )
    teeth = TeethTextField(
        label=gettext_lazy("Teeth"), required=False, help_text=gettext_lazy("FDI numbers: 36, 46")
    )
    xray_type = forms.ChoiceField(
        label=gettext_lazy("X-ray type"),
        choices=[("", "—"), *XrayType.choices],
        required=False,
    )
    exposures = forms.IntegerField(
        label=gettext_lazy("Exposures"), min_value=1, max_value=1000, required=False, initial=1
    )
    dose_msv = forms.DecimalField(
        label=gettext_lazy("Effective dose, mSv"),
        min_value=Decimal("0"),
        max_value=MAX_DOSE_MSV,
        max_digits=6,
        decimal_places=3,
        required=False,
    )
    taken_at = forms.DateTimeField(
        label=gettext_lazy("Taken"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy("Empty: the date in the DICOM file, else now."),
    )
    taken_by = forms.ModelChoiceField(
        label=gettext_lazy("Taken by"), queryset=Employee.objects.none(), required=False
    )
    appointment = forms.ModelChoiceField(
        label=gettext_lazy("Visit"),
        queryset=Appointment.objects.none(),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("This visit is not one of the patient's.")},
    )
    branch = forms.ModelChoiceField(label=gettext_lazy("Branch"), queryset=Branch.objects.none())
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False)

    def __init__(self, *args, user, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["taken_by"].queryset = (  # type: ignore[attr-defined]
            Employee.objects.for_user(user).order_by("last_name", "first_name")
        )
        self.fields["appointment"].queryset = (  # type: ignore[attr-defined]
            Appointment.objects.for_user(user).filter(patient=patient).order_by("-start")
        )
        self.fields["branch"].queryset = Branch.objects.for_user(user)  # type: ignore[attr-defined]
        self.fields["teeth"].widget.attrs["placeholder"] = "36, 46"

    def image_data(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in (
                "kind",
                "teeth",
                "xray_type",
                "exposures",
                "dose_msv",
                "taken_at",
                "taken_by",
                "appointment",
                "note",
            )
        }


class XrayLogFilter(Form):
    since = forms.DateField(label=gettext_lazy("From"), required=False)
    until = forms.DateField(label=gettext_lazy("To"), required=False)
    branch = forms.ModelChoiceField(
        label=gettext_lazy("Branch"),
        queryset=Branch.objects.none(),
        required=False,
        empty_label=gettext_lazy("All branches"),
    )
    patient = forms.IntegerField(
        label=gettext_lazy("Patient"), required=False, min_value=1, max_value=2**63 - 1
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = Branch.objects.for_user(user)  # type: ignore[attr-defined]
