from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.forms import Form, QuickSelect
from clinic.teeth import Dentition, Surface, validate_teeth
from clinical import selectors
from clinical.models import ToothState


class DiagnosisSelect(QuickSelect):
    """The ICD-10 picker: with no diagnosis chosen, its four hundred options come written
    from the cache (``selectors.diagnosis_options``); a chosen one is marked by writing them
    again from the cached rows."""

    empty_label: str | None = "---------"  # None: no empty option (the field's own)

    def options_html(self, value) -> str:
        rows, written = selectors.diagnosis_options()
        wanted = set(self.format_value(value))
        empty = "" if self.empty_label is None else self._option("", self.empty_label, wanted)
        if wanted <= {""}:
            return empty + written
        return empty + "".join(self._option(pk, label, wanted) for pk, label in rows)


def offer_cached_diagnoses(field: forms.ModelChoiceField) -> None:
    """The diagnosis picker through ``DiagnosisSelect``; the field still checks a chosen id
    against its queryset."""
    widget = DiagnosisSelect(attrs=field.widget.attrs)
    widget.empty_label = None if field.empty_label is None else str(field.empty_label)
    field.widget = widget


class TeethField(forms.Field):
    """Tooth numbers from the chart's checkboxes; any other text is refused by name."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        numbers = []
        for text in value or []:
            text = str(text).strip()
            if not (text.isascii() and text.isdigit() and len(text) <= 2):
                raise ValidationError(
                    _("There is no tooth %(tooth)s in the FDI numbering.") % {"tooth": text[:10]},
                    code="no_such_tooth",
                )
            numbers.append(int(text))
        return numbers


class ChartRecordForm(Form):
    teeth = TeethField(label=gettext_lazy("Teeth"))
    dentition = forms.ChoiceField(label=gettext_lazy("Dentition"), choices=Dentition.choices)
    diagnosis = forms.ModelChoiceField(
        label=gettext_lazy("Diagnosis (ICD-10)"),
        queryset=selectors.diagnosis_choices(),
        required=False,
        error_messages={
            "invalid_choice": gettext_lazy("This diagnosis is not in the ICD-10 list.")
        },
    )
    state = forms.ChoiceField(
        label=gettext_lazy("State"),
        choices=[("", "—"), *ToothState.choices],
        required=False,
    )
    surfaces = forms.MultipleChoiceField(
        label=gettext_lazy("Surfaces"),
        choices=Surface.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["diagnosis"].widget.attrs["data-tom-select"] = ""
        offer_cached_diagnoses(self.fields["diagnosis"])  # type: ignore[arg-type]

    def clean(self):
        data = super().clean()
        if "teeth" in data and "dentition" in data:
            try:
                data["teeth"] = validate_teeth(data["teeth"], data["dentition"])
            except ValidationError as error:
                self.add_error("teeth", error)
        if not data.get("diagnosis") and not data.get("state"):
            raise ValidationError(_("Choose a diagnosis or a state of the tooth."), code="empty")
        return data
