import datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.bounds import DateWindow, DateWindowValidator
from clinic.forms import DateInput, Form, ModelForm, clean_phone_value
from clinic.models import Branch, Employee, MarketingChannel, PatientGroup, ProfessionKind
from clinic.validators import (
    digits_only,
    validate_oms_policy,
    validate_passport,
    validate_person_inn,
    validate_snils,
)
from patients.models import DocumentType, Family, LegalRepresentative, Patient

MAIN_FIELDS = [
    "last_name",
    "first_name",
    "middle_name",
    "phone",
    "email",
    "birth_date",
    "gender",
    "marketing_channel",
    "patient_group",
    "messaging_consent",
    "coordinator",
    "attending_doctor",
    "branch",
]
ADDITIONAL_FIELDS = [
    "document_type",
    "passport_series",
    "passport_number",
    "passport_issued_by",
    "passport_issued_on",
    "passport_department_code",
    "other_document",
    "citizenship",
    "snils",
    "inn",
    "oms_policy",
    "home_phone",
]
ADDRESS_FIELDS = ["registration_address", "actual_address"]
PROFILE_FIELDS = [
    "last_name",
    "first_name",
    "middle_name",
    "email",
    "marketing_channel",
    "patient_group",
    "coordinator",
    "attending_doctor",
    "branch",
    "messaging_consent",
    "is_active",
    "comment",
]
INFO_FIELDS = [
    "phone",
    "home_phone",
    "birth_date",
    "gender",
    *ADDITIONAL_FIELDS[:-1],
    *ADDRESS_FIELDS,
]


# Typed with spaces, brackets and dashes ("+7 (912) 345-67-89", "112-233-445 95"); the
# clean_* methods store the shorter normalised value, which the model's max_length checks.
FORMATTED_INPUT_LENGTHS = {
    "phone": 30,
    "home_phone": 30,
    "snils": 20,
    "inn": 20,
    "oms_policy": 30,
    "passport_series": 10,
    "passport_number": 10,
    "passport_department_code": 10,
}


BIRTH_DATES = DateWindow(datetime.date(1900, 1, 1), timezone.localdate)


def birth_date_rule() -> DateWindowValidator:
    return DateWindowValidator(
        BIRTH_DATES,
        too_early=_("Check the year of birth."),
        too_late=_("The date of birth cannot be in the future."),
    )


class PatientFieldsMixin:
    """Normalisation and checks shared by every form that edits a patient."""

    def allow_formatted_input(self) -> None:
        fields = self.fields  # type: ignore[attr-defined]
        for name, length in FORMATTED_INPUT_LENGTHS.items():
            if name not in fields:
                continue
            field = fields[name]
            field.max_length = length
            field.validators = [
                v for v in field.validators if not isinstance(v, MaxLengthValidator)
            ] + [MaxLengthValidator(length)]
            field.widget.attrs["maxlength"] = str(length)

    def keep_shown_values(self) -> None:
        """Every field also posts the value it was shown with (a hidden input), so the view
        writes only what the user changed (``patients.views._edited``)."""
        for field in self.fields.values():  # type: ignore[attr-defined]
            field.show_hidden_initial = True

    def setup_choices(self) -> None:
        self.allow_formatted_input()
        fields = self.fields  # type: ignore[attr-defined]
        if "coordinator" in fields:
            fields["coordinator"].queryset = Employee.objects.order_by("last_name", "first_name")
        if "attending_doctor" in fields:
            fields["attending_doctor"].queryset = Employee.objects.filter(
                kind=ProfessionKind.DOCTOR
            ).order_by("last_name", "first_name")
        if "branch" in fields:
            fields["branch"].queryset = Branch.objects.all()
        for name in ("last_name", "first_name", "middle_name"):
            if name in fields:
                fields[name].widget.attrs["autocomplete"] = "off"
        if "phone" in fields:
            fields["phone"].widget.attrs.update(
                {"inputmode": "tel", "placeholder": "+7 (912) 345-67-89"}
            )
        if "birth_date" in fields:
            # Its own rule instead of the window every date field gets.
            field = fields["birth_date"]
            field.validators = [
                v for v in field.validators if not isinstance(v, DateWindowValidator)
            ] + [birth_date_rule()]

    def clean_phone(self) -> str:
        return clean_phone_value(self.cleaned_data["phone"])  # type: ignore[attr-defined]

    def clean_home_phone(self) -> str:
        return clean_phone_value(self.cleaned_data["home_phone"])  # type: ignore[attr-defined]

    def clean_snils(self) -> str:
        value = self.cleaned_data["snils"]  # type: ignore[attr-defined]
        return validate_snils(value) if value else ""

    def clean_inn(self) -> str:
        value = self.cleaned_data["inn"]  # type: ignore[attr-defined]
        return validate_person_inn(value) if value else ""

    def clean_oms_policy(self) -> str:
        value = self.cleaned_data["oms_policy"]  # type: ignore[attr-defined]
        return validate_oms_policy(value) if value else ""

    def clean_passport_department_code(self) -> str:
        digits = digits_only(self.cleaned_data["passport_department_code"])  # type: ignore[attr-defined]
        if digits and len(digits) != 6:
            raise ValidationError(_("A department code has 6 digits, like 770-001."))
        return f"{digits[:3]}-{digits[3:]}" if digits else ""

    def clean_names(self, cleaned: dict) -> None:
        for name in ("last_name", "first_name", "middle_name"):
            if cleaned.get(name):
                cleaned[name] = " ".join(cleaned[name].split())

    def clean_passport(self, cleaned: dict) -> None:
        series, number = cleaned.get("passport_series", ""), cleaned.get("passport_number", "")
        if series or number:
            try:
                cleaned["passport_series"], cleaned["passport_number"] = validate_passport(
                    series, number
                )
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    self.add_error(field, messages)  # type: ignore[attr-defined]

    def clean_document(self, cleaned: dict) -> None:
        if cleaned.get("document_type") == DocumentType.PASSPORT:
            self.clean_passport(cleaned)
        elif cleaned.get("document_type") == DocumentType.OTHER and not cleaned.get(
            "other_document"
        ):
            self.add_error("other_document", _("Describe the document: name, series and number."))  # type: ignore[attr-defined]


class PatientForm(PatientFieldsMixin, ModelForm):
    """The whole card, as the add panel shows it (main, additional, addresses, comment)."""

    confirm_duplicate = forms.BooleanField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Patient
        fields = [*MAIN_FIELDS, *ADDITIONAL_FIELDS, *ADDRESS_FIELDS, "comment"]
        widgets = {
            "birth_date": DateInput(),
            "passport_issued_on": DateInput(),
            "comment": forms.Textarea(attrs={"rows": 2}),
            "document_type": forms.RadioSelect(),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_choices()
        self.fields["phone"].required = True

    def clean(self):
        cleaned = super().clean()
        self.clean_names(cleaned)
        self.clean_document(cleaned)
        return cleaned

    def patient_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "confirm_duplicate"}


class PatientProfileForm(PatientFieldsMixin, ModelForm):
    class Meta:
        model = Patient
        fields = PROFILE_FIELDS
        widgets = {"comment": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, keep_shown_values: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_choices()
        if keep_shown_values:
            self.keep_shown_values()

    def clean(self):
        cleaned = super().clean()
        self.clean_names(cleaned)
        return cleaned


class PatientInfoForm(PatientFieldsMixin, ModelForm):
    class Meta:
        model = Patient
        fields = INFO_FIELDS
        widgets = {
            "birth_date": DateInput(),
            "passport_issued_on": DateInput(),
            "document_type": forms.RadioSelect(),
        }

    def __init__(self, *args, keep_shown_values: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_choices()
        if keep_shown_values:
            self.keep_shown_values()
        self.fields["phone"].required = True

    def clean(self):
        cleaned = super().clean()
        self.clean_document(cleaned)
        return cleaned


class RepresentativeForm(PatientFieldsMixin, ModelForm):
    """The legal representative of a child or a ward, on the card."""

    class Meta:
        model = LegalRepresentative
        fields = [
            "relation",
            "last_name",
            "first_name",
            "middle_name",
            "birth_date",
            "phone",
            "address",
            "passport_series",
            "passport_number",
            "passport_issued_on",
            "passport_issued_by",
        ]
        widgets = {"birth_date": DateInput(), "passport_issued_on": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_choices()

    def clean(self):
        cleaned = super().clean()
        self.clean_names(cleaned)
        self.clean_passport(cleaned)
        return cleaned


class FamilyCreateForm(ModelForm):
    class Meta:
        model = Family
        fields = ["name", "card_number"]


class FamilyJoinForm(Form):
    family = forms.ModelChoiceField(
        label=_("family"),
        queryset=Family.objects.all(),
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Choose a family."),
            "invalid_choice": _("This family no longer exists; search for it again."),
        },
    )


class PortalActivateForm(Form):
    login = forms.CharField(
        label=_("login"), max_length=150, help_text=_("Usually the patient's phone or email.")
    )

    def clean_login(self) -> str:
        # Trimmed by the field; what is left is one word of printable characters (it is
        # typed into the app and written to amoCRM as it is).
        login = self.cleaned_data["login"]
        if any(char.isspace() or not char.isprintable() for char in login):
            raise ValidationError(_("A login has no spaces or invisible characters."))
        return login


class ImportUploadForm(Form):
    MAX_SIZE = 20 * 1024 * 1024
    file = forms.FileField(label=_("file"), help_text=_("Excel (.xlsx) or CSV, up to 20 MB."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if not name.endswith((".xlsx", ".csv")):
            raise ValidationError(_("Upload an Excel .xlsx or a .csv file."))
        if upload.size > self.MAX_SIZE:
            raise ValidationError(_("The file is larger than 20 MB; split it into parts."))
        if upload.size == 0:
            raise ValidationError(_("The file is empty."))
        return upload


# What a select of a network's hundreds of employees needs to name them.
EMPLOYEE_NAME_FIELDS = ("last_name", "first_name", "middle_name")


class PatientFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    branch = django_filters.ModelChoiceFilter(
        label=_("branch"), queryset=Branch.objects.all(), empty_label=_("All branches")
    )
    attending_doctor = django_filters.ModelChoiceFilter(
        label=_("attending doctor"),
        empty_label=_("All doctors"),
        queryset=Employee.objects.filter(kind=ProfessionKind.DOCTOR)
        .order_by("last_name")
        .only(*EMPLOYEE_NAME_FIELDS),
    )
    coordinator = django_filters.ModelChoiceFilter(
        label=_("coordinator"),
        empty_label=_("All coordinators"),
        queryset=Employee.objects.order_by("last_name", "first_name").only(*EMPLOYEE_NAME_FIELDS),
    )
    marketing_channel = django_filters.ModelChoiceFilter(
        label=_("marketing channel"),
        queryset=MarketingChannel.objects.all(),
        empty_label=_("All channels"),
    )
    patient_group = django_filters.ModelChoiceFilter(
        label=_("patient group"),
        queryset=PatientGroup.objects.all(),
        empty_label=_("All groups"),
    )
    is_active = django_filters.BooleanFilter(
        label=_("active"),
        widget=forms.Select(
            choices=[
                ("", _("Active and inactive")),
                ("true", _("Active")),
                ("false", _("Inactive")),
            ]
        ),
    )
    created_from = django_filters.DateFilter(
        label=_("created from"),
        field_name="created_at",
        lookup_expr="date__gte",
        widget=DateInput(),
    )
    created_to = django_filters.DateFilter(
        label=_("created to"), field_name="created_at", lookup_expr="date__lte", widget=DateInput()
    )
    ordering = django_filters.OrderingFilter(
        fields=(("search_name", "name"), ("card_number", "card"), ("created_at", "created")),
        field_labels={
            "search_name": _("full name"),
            "card_number": _("card number"),
            "created_at": _("created"),
        },
        label=_("sort"),
        empty_label=_("By name"),
    )

    class Meta:
        model = Patient
        fields: list[str] = []
        form = Form

    def search(self, queryset, name, value):
        from patients.selectors import search_condition

        condition = search_condition(value)
        return queryset.filter(condition) if condition is not None else queryset
