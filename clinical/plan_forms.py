from django import forms
from django.utils.translation import gettext_lazy

from clinic.forms import Form, ModelForm
from clinic.models import Employee, Profession, ProfessionKind
from clinic.teeth import Dentition
from clinical import selectors
from clinical.forms import TeethField, offer_cached_diagnoses
from clinical.models import PlanStage, PlanTemplate, PlanTemplateLine, ToothRecord, TreatmentPlan
from clinical.plans import MAX_QUANTITY
from pricelist.models import Service

NOT_A_SERVICE = gettext_lazy("This service is not in the price list.")


def quantity_field(**kwargs) -> forms.IntegerField:
    return forms.IntegerField(
        label=gettext_lazy("Quantity"),
        min_value=1,
        max_value=MAX_QUANTITY,
        error_messages={
            "min_value": gettext_lazy("The quantity must be at least 1."),
            "invalid": gettext_lazy("The quantity must be a whole number."),
        },
        **kwargs,
    )


class PlanForm(Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200, required=False)
    doctor = forms.ModelChoiceField(
        label=gettext_lazy("Doctor"), queryset=Employee.objects.none(), required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = (  # type: ignore[attr-defined]
            Employee.objects.for_user(user)
            .doctors()
            .only("pk", "last_name", "first_name", "middle_name")
        )


class LinesAddForm(Form):
    teeth = TeethField(label=gettext_lazy("Teeth"), required=False)
    dentition = forms.ChoiceField(
        label=gettext_lazy("Dentition"), choices=Dentition.choices, required=False
    )
    service = forms.ModelChoiceField(
        label=gettext_lazy("Service"),
        queryset=Service.objects.only("pk", "code", "name", "price", "per_tooth"),
        error_messages={
            "invalid_choice": NOT_A_SERVICE,
            "required": gettext_lazy("Choose a service."),
        },
    )
    quantity = quantity_field(initial=1)
    stage = forms.ModelChoiceField(
        label=gettext_lazy("Stage"), queryset=PlanStage.objects.none(), required=False
    )
    diagnosis = forms.ModelChoiceField(
        label=gettext_lazy("Diagnosis (ICD-10)"),
        queryset=selectors.diagnosis_choices(),
        required=False,
        error_messages={
            "invalid_choice": gettext_lazy("This diagnosis is not in the ICD-10 list.")
        },
    )

    def __init__(self, *args, plan: TreatmentPlan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = plan.stages.all()  # type: ignore[attr-defined]
        offer_cached_diagnoses(self.fields["diagnosis"])  # type: ignore[arg-type]


class LineUpdateForm(Form):
    quantity = quantity_field(required=False)
    stage = forms.ModelChoiceField(
        label=gettext_lazy("Stage"), queryset=PlanStage.objects.none(), required=False
    )

    def __init__(self, *args, plan: TreatmentPlan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = plan.stages.all()  # type: ignore[attr-defined]


class StageForm(Form):
    name = forms.CharField(label=gettext_lazy("Stage name"), max_length=100, required=False)


class SuggestForm(Form):
    """The patient's current chart records with a diagnosis, as ticked on the plan page."""

    records = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Diagnoses"),
        queryset=ToothRecord.objects.none(),
        error_messages={
            "required": gettext_lazy("Tick at least one diagnosis."),
            "invalid_choice": gettext_lazy("This diagnosis is not on the patient's chart."),
            "invalid_pk_value": gettext_lazy("This diagnosis is not on the patient's chart."),
        },
    )
    template = forms.ModelChoiceField(
        label=gettext_lazy("Template"),
        queryset=PlanTemplate.objects.only("pk", "name"),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("This template is not active.")},
    )

    def __init__(self, *args, patient_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["records"].queryset = (  # type: ignore[attr-defined]
            ToothRecord.objects.current()
            .filter(patient_id=patient_id, diagnosis__isnull=False)
            .only("pk", "tooth", "diagnosis_id")
        )

    def teeth_by_diagnosis(self) -> dict[int, list[int]]:
        grouped: dict[int, list[int]] = {}
        for record in self.cleaned_data["records"]:
            teeth = grouped.setdefault(record.diagnosis_id, [])
            if record.tooth not in teeth:
                teeth.append(record.tooth)
        return grouped


class PlanTemplateForm(ModelForm):
    class Meta:
        model = PlanTemplate
        fields = ("name", "description", "diagnoses")
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["diagnoses"].queryset = selectors.diagnosis_choices()  # type: ignore[attr-defined]
        self.fields["diagnoses"].widget.attrs["data-tom-select"] = ""


class PlanTemplateLineForm(ModelForm):
    hours = forms.DecimalField(
        label=gettext_lazy("Hours"), min_value=0, max_value=999, decimal_places=2, initial=0
    )
    quantity = quantity_field(initial=1)

    class Meta:
        model = PlanTemplateLine
        fields = ("profession", "service", "hours", "quantity")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["profession"].queryset = Profession.objects.filter(  # type: ignore[attr-defined]
            kind=ProfessionKind.DOCTOR
        ).only("pk", "name")
        self.fields["service"].queryset = Service.objects.only(  # type: ignore[attr-defined]
            "pk", "code", "name"
        )
        self.fields["service"].error_messages["invalid_choice"] = NOT_A_SERVICE


PlanTemplateLineFormSet = forms.inlineformset_factory(
    PlanTemplate,
    PlanTemplateLine,
    form=PlanTemplateLineForm,
    extra=3,
    can_delete=True,
    max_num=100,
    validate_max=True,
)
