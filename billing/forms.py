import datetime
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.amounts import DiscountAsked
from billing.discounts import applicable_filter, auto_select_enabled
from billing.models import Discount, PaymentMethod
from clinic.forms import Form
from clinic.models import Branch, Employee

AMOUNT_MIN = Decimal("0.01")
AMOUNT_MAX = Decimal("9999999999.99")


def amount_field(**kwargs) -> forms.DecimalField:
    return forms.DecimalField(
        label=gettext_lazy("Amount"),
        max_digits=12,
        decimal_places=2,
        min_value=AMOUNT_MIN,
        max_value=AMOUNT_MAX,
        **kwargs,
    )


def parse_discount(text: str | None) -> DiscountAsked | None:
    """ "10%" is a percent, "500" (or "500,50") an amount; empty is none."""
    text = (text or "").strip().replace(",", ".").replace(" ", "").replace("\u00a0", "")
    if not text:
        return None
    percent = text.endswith("%")
    try:
        value = Decimal(text.rstrip("%"))
    except InvalidOperation:
        raise ValidationError(
            _("A discount is a percent (10%%) or an amount (500): %(text)s") % {"text": text[:20]}
        ) from None
    if not value.is_finite() or value < 0 or value > AMOUNT_MAX:
        raise ValidationError(_("A discount cannot be negative."))
    if value == 0:
        return None
    return DiscountAsked(percent=value) if percent else DiscountAsked(amount=value)


def discount_text(asked: DiscountAsked | None) -> str:
    """A discount as a cashier types it ("10%", "500"): what ``parse_discount`` reads back."""
    if asked is None or asked.is_empty:
        return ""
    if asked.percent:
        return f"{asked.percent.normalize():f}%"
    assert asked.amount is not None
    return f"{asked.amount.normalize():f}"


def _methods():
    return PaymentMethod.objects.order_by("position", "name")


class PayForm(Form):
    method = forms.ModelChoiceField(
        queryset=_methods(),
        required=False,
        empty_label=gettext_lazy("From the deposit"),
        label=gettext_lazy("Payment method"),
    )
    amount = amount_field()


class ReasonForm(Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


class RefundForm(Form):
    amount = amount_field()
    method = forms.ModelChoiceField(
        queryset=_methods(),
        required=False,
        empty_label=gettext_lazy("As it was paid"),
        label=gettext_lazy("Payment method"),
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


class DepositForm(Form):
    amount = amount_field()
    method = forms.ModelChoiceField(queryset=_methods(), label=gettext_lazy("Payment method"))
    branch = forms.ModelChoiceField(queryset=Branch.objects.none(), label=gettext_lazy("Branch"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        branches = Branch.objects.for_user(user).order_by("name")
        field = self.fields["branch"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = branches
        first = branches.first()
        if first is not None and not self.is_bound:
            self.initial.setdefault("branch", first.pk)


class WithdrawForm(DepositForm):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300, required=False)
    confirm = forms.BooleanField(
        label=gettext_lazy("I am giving this money back to the patient"), required=True
    )


class InvoiceHeadForm(Form):
    chosen_discount = forms.ModelChoiceField(
        label=gettext_lazy("Discount"),
        queryset=Discount.objects.none(),
        required=False,
        help_text=gettext_lazy(
            "One of the Discounts module's, for the lines without a discount of their own."
        ),
    )
    discount = forms.CharField(
        label=gettext_lazy("Discount on the whole invoice"),
        max_length=20,
        required=False,
        help_text=gettext_lazy("A percent (10%) or an amount (500)"),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, patient, on: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["chosen_discount"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Discount.objects.filter(applicable_filter(patient, on)).order_by("name")
        field.empty_label = (
            gettext_lazy("The best of the patient's discounts")
            if auto_select_enabled()
            else gettext_lazy("No discount")
        )

    def clean_discount(self) -> DiscountAsked | None:
        return parse_discount(self.cleaned_data.get("discount"))


def staff_choices(user) -> list[Employee]:
    return list(Employee.objects.for_user(user).order_by("last_name", "first_name")[:500])
