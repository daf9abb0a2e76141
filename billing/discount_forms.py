from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from billing.models import Discount, DiscountKind
from calendar_app.forms import PatientChoiceField, patient_label
from clinic.bounds import parse_id
from clinic.forms import DateInput, Form, IdsChoiceField, ModelForm
from clinic.models import PatientGroup
from patients.models import Patient
from pricelist.models import Service, ServiceCategory


class PatientsPicker(forms.SelectMultiple):
    """The booking dialog's patient picker for several patients: only the chosen ones are
    <option>s (the rest come from the search API as the user types), read when it renders."""

    def optgroups(self, name, value, attrs=None):
        ids = [pk for pk in map(parse_id, value) if pk]
        chosen = Patient.objects.filter(pk__in=ids).order_by("last_name", "first_name", "pk")
        self.choices = [(patient.pk, patient_label(patient)) for patient in (chosen if ids else [])]
        return super().optgroups(name, value, attrs)


class DiscountForm(ModelForm):
    services = forms.ModelMultipleChoiceField(
        label=_("services"),
        required=False,
        queryset=Service.objects.none(),
        widget=forms.SelectMultiple(attrs={"data-tom-select": ""}),
    )
    categories = forms.ModelMultipleChoiceField(
        label=_("service categories"),
        required=False,
        queryset=ServiceCategory.objects.none(),
        widget=forms.SelectMultiple(attrs={"data-tom-select": ""}),
    )
    patient_groups = forms.ModelMultipleChoiceField(
        label=_("patient groups"),
        required=False,
        queryset=PatientGroup.objects.none(),
        widget=forms.SelectMultiple(attrs={"data-tom-select": ""}),
    )
    patients = IdsChoiceField(
        label=_("patients"),
        required=False,
        queryset=Patient.objects.all(),
        widget=PatientsPicker(attrs={"data-patient-picker": ""}),
        help_text=_("Type a name, a phone or a card number."),
    )

    class Meta:
        model = Discount
        fields = [
            "name",
            "active",
            "scope",
            "services",
            "categories",
            "recipients",
            "age_from",
            "age_to",
            "patient_groups",
            "patients",
            "valid_from",
            "valid_to",
            "kind",
            "value",
        ]
        widgets = {"valid_from": DateInput(), "valid_to": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A service or a group since deleted stays on the discount that lists it.
        kept = self.instance.pk
        services = Service.objects.all()
        categories = ServiceCategory.objects.all()
        groups = PatientGroup.objects.all()
        if kept:
            services = Service.all_objects.filter(
                Q(deleted_at__isnull=True) | Q(pk__in=self.instance.services.values("pk"))
            )
            categories = ServiceCategory.all_objects.filter(
                Q(deleted_at__isnull=True) | Q(pk__in=self.instance.categories.values("pk"))
            )
            groups = PatientGroup.all_objects.filter(
                Q(deleted_at__isnull=True) | Q(pk__in=self.instance.patient_groups.values("pk"))
            )
        self.fields["services"].queryset = services.only("pk", "code", "name").order_by(
            "category__position", "position", "pk"
        )
        self.fields["categories"].queryset = categories.order_by("position", "name")
        self.fields["patient_groups"].queryset = groups.order_by("position", "name")
        self.fields["value"].widget.attrs.update({"step": "0.01", "min": "0.01"})

    def discount_data(self) -> dict:
        return dict(self.cleaned_data)


YES_NO = [("", _("Any")), ("yes", _("Active")), ("no", _("Inactive"))]


class DiscountFilter(Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    active = forms.ChoiceField(label=_("active"), choices=YES_NO, required=False)
    kind = forms.ChoiceField(
        label=_("kind"), choices=[("", _("Any")), *DiscountKind.choices], required=False
    )
    on = forms.DateField(
        label=_("valid on"),
        required=False,
        widget=DateInput(),
        help_text=_("Discounts whose period covers this day."),
    )

    def filter(self, discounts: QuerySet) -> QuerySet:
        if not self.is_valid():
            return discounts
        if query := self.cleaned_data["q"].strip():
            discounts = discounts.filter(name__icontains=query)
        if self.cleaned_data["active"]:
            discounts = discounts.filter(active=self.cleaned_data["active"] == "yes")
        if self.cleaned_data["kind"]:
            discounts = discounts.filter(kind=self.cleaned_data["kind"])
        if day := self.cleaned_data["on"]:
            discounts = discounts.filter(
                Q(valid_from__isnull=True) | Q(valid_from__lte=day),
                Q(valid_to__isnull=True) | Q(valid_to__gte=day),
            )
        return discounts


class TryForm(Form):
    """The preview: a patient, a day and services, to see what each discount gives."""

    patient = PatientChoiceField(required=False)
    on = forms.DateField(label=_("date"), widget=DateInput())
    services = forms.ModelMultipleChoiceField(
        label=_("services"),
        queryset=Service.objects.only("pk", "code", "name", "price", "category_id").order_by(
            "category__position", "position", "pk"
        ),
        widget=forms.SelectMultiple(attrs={"data-tom-select": ""}),
    )
