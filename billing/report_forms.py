"""The filters of billing's lists and the certificate's dialog."""

import datetime

from django import forms
from django.utils.translation import gettext_lazy

from billing import certificates
from clinic.forms import Form
from clinic.models import Branch, Employee


class CashDayFilter(Form):
    branch = forms.ModelChoiceField(label=gettext_lazy("Branch"), queryset=Branch.objects.none())
    day = forms.DateField(label=gettext_lazy("Day"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = Branch.objects.for_user(user)  # type: ignore[attr-defined]


class DebtsFilter(Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=100)
    branch = forms.ModelChoiceField(
        label=gettext_lazy("Branch"),
        queryset=Branch.objects.none(),
        required=False,
        empty_label=gettext_lazy("All branches"),
    )
    doctor = forms.ModelChoiceField(
        label=gettext_lazy("Doctor"),
        queryset=Employee.objects.none(),
        required=False,
        empty_label=gettext_lazy("All doctors"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = Branch.objects.for_user(user)  # type: ignore[attr-defined]
        self.fields["doctor"].queryset = (  # type: ignore[attr-defined]
            Employee.objects.for_user(user).doctors().order_by("last_name", "first_name")
        )


class CertificatesFilter(Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=100)
    year = forms.TypedChoiceField(
        label=gettext_lazy("Tax year"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        years = range(today.year, certificates.FIRST_YEAR - 1, -1)
        self.fields["year"].choices = [("", gettext_lazy("All years"))] + [  # type: ignore[attr-defined]
            (str(year), str(year)) for year in years
        ]


class CertificateForm(Form):
    year = forms.TypedChoiceField(label=gettext_lazy("Tax year"), coerce=int)
    taxpayer = forms.ChoiceField(label=gettext_lazy("Taxpayer"))

    def __init__(self, *args, patient, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        years = range(today.year, certificates.FIRST_YEAR - 1, -1)
        self.fields["year"].choices = [(str(year), str(year)) for year in years]  # type: ignore[attr-defined]
        self.fields["year"].initial = (
            today.year - 1 if today.year > certificates.FIRST_YEAR else today.year
        )
        self.fields["taxpayer"].choices = certificates.taxpayer_choices(patient)  # type: ignore[attr-defined]
        self.fields["taxpayer"].initial = str(patient.pk)


class IncomeFilter(Form):
    branch = forms.ModelChoiceField(label=gettext_lazy("Branch"), queryset=Branch.objects.none())
    month = forms.DateField(
        label=gettext_lazy("Month"),
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = Branch.objects.for_user(user)  # type: ignore[attr-defined]
