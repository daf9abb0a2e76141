import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.forms import Form, ModelForm
from clinic.models import Branch, Profession, ProfessionKind
from pricelist.models import (
    ConsumableMode,
    PriceList,
    PriceListKind,
    Service,
    ServiceCategory,
)
from pricelist.services import check_effective_from, clean_codes

MONEY_MAX = Decimal("9999999999.99")
DURATION_MAX = 24 * 60


def money_field(label) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=MONEY_MAX,
        error_messages={"min_value": _("A price cannot be negative.")},
    )


class CategoryForm(ModelForm):
    class Meta:
        model = ServiceCategory
        fields = ["name"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = ServiceCategory.objects.filter(name__iexact=name)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise ValidationError(_("A category with this name exists already."))
        return name


class ServiceForm(ModelForm):
    duration_minutes = forms.IntegerField(
        label=_("duration, minutes"),
        validators=[
            MinValueValidator(1, _("A service lasts at least a minute.")),
            MaxValueValidator(DURATION_MAX, _("A service lasts at most a day (1440 minutes).")),
        ],
    )

    class Meta:
        model = Service
        fields = ["category", "code", "name", "duration_minutes", "per_tooth", "profession"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = ServiceCategory.objects.only("name")  # type: ignore[attr-defined]
        self.fields["profession"].queryset = Profession.objects.filter(  # type: ignore[attr-defined]
            kind=ProfessionKind.DOCTOR
        ).only("name")

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not code:
            raise ValidationError(_("Enter the service's code."))
        taken = Service.objects.filter(code=code)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise ValidationError(
                _("The code %(code)s is taken by another service.") % {"code": code}
            )
        return code

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("Enter the service's name."))
        return name


class NewServiceForm(ServiceForm):
    price = money_field(_("base price"))

    class Meta(ServiceForm.Meta):
        pass

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.price = Decimal("0")  # set from the form's price by the service


class PriceForm(Form):
    amount = money_field(_("price"))
    effective_from = forms.DateField(label=_("effective from"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["effective_from"].initial = timezone.localdate

    def clean_effective_from(self):
        day = self.cleaned_data["effective_from"]
        try:
            check_effective_from(day)
        except ValidationError as error:
            raise ValidationError(error.message_dict["effective_from"]) from error
        return day


class ConsumableForm(Form):
    material = forms.CharField(label=_("material"), max_length=200)
    unit = forms.CharField(label=_("unit"), max_length=30, required=False)
    mode = forms.ChoiceField(
        label=_("write-off"), choices=ConsumableMode.choices, initial=ConsumableMode.BY_QUANTITY
    )
    value = forms.DecimalField(
        label=_("quantity or amount"),
        max_digits=12,
        decimal_places=3,
        min_value=Decimal("0.001"),
        max_value=Decimal("999999999"),
        error_messages={"min_value": _("A quantity or an amount is above zero.")},
    )

    def clean_material(self) -> str:
        material = self.cleaned_data["material"].strip()
        if not material:
            raise ValidationError(_("Name the material."))
        return material


ConsumableFormSet = forms.formset_factory(
    ConsumableForm, extra=1, can_delete=True, max_num=100, validate_max=True, absolute_max=100
)


class DiagnosesForm(Form):
    codes = forms.CharField(
        label=_("typical diagnoses (ICD-10 codes)"),
        required=False,
        max_length=2000,
        widget=forms.TextInput,
        help_text=_("Codes separated by commas or spaces, like K02.1, K04.0."),
    )

    def clean_codes(self) -> list[str]:
        parts = [p for p in re.split(r"[\s,;]+", self.cleaned_data["codes"]) if p]
        if len(parts) > 50:
            raise ValidationError(_("At most 50 codes."))
        return clean_codes(parts)


class PriceListForm(ModelForm):
    class Meta:
        model = PriceList
        fields = ["name", "branch", "active"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["branch"]
            if self.instance.kind == PriceListKind.BASE:
                del self.fields["active"]
            return
        del self.fields["active"]
        taken = PriceList.objects.filter(kind=PriceListKind.BRANCH).values("branch_id")
        branch = self.fields["branch"]
        branch.required = True
        branch.queryset = Branch.objects.for_user(user).exclude(pk__in=taken).only("name")  # type: ignore[attr-defined]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("Name the price list."))
        return name


class ImportForm(Form):
    MAX_SIZE = 10 * 1024 * 1024
    file = forms.FileField(label=_("file"), help_text=_("Excel (.xlsx), up to 10 MB."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".xlsx"):
            raise ValidationError(_("Upload an Excel .xlsx file."))
        if upload.size > self.MAX_SIZE:
            raise ValidationError(_("The file is larger than 10 MB."))
        if upload.size == 0:
            raise ValidationError(_("The file is empty."))
        return upload
