"""Invoices, payments and the patient's ledger (the billing issue, stories 2-4 and 9).

The price list they bill from lives below the calendar, in ``pricelist``.

**The ledger is the truth.** Every movement of a patient's money is one ``LedgerEntry``
(an issued invoice, a payment, a deposit top-up, a withdrawal, a refund, a rollback), with a
signed amount: what the patient owes is negative, what the patient gave is positive. An entry
is never changed or deleted (``save`` on an existing row and ``delete`` raise; so do the
queryset's ``update`` and ``delete``); a mistake is undone by a rollback entry. So:

- an invoice's *paid* amount is the sum of its entries that carry a payment (payments, their
  rollbacks and refunds); its *due* is its total minus that;
- an account's *debt* is minus the sum of its entries tied to an invoice, its *deposit* the
  sum of the entries tied to none, its *balance* the sum of all (deposit minus debt).

Nothing of these is stored: they are sums (``billing.ledger``).

**Accounts.** A patient has an account; a family has one too, found by the family's id (a
lookup, not a copy). When the setting ``billing.family_shared_deposit`` is on, the members'
deposit money goes to and comes from the family's account; their invoices stay on their own.

**Rounding** (kopecks, ``ROUND_HALF_UP``, ``clinic.money.round_money``): a line's amount is
price × quantity, rounded; its own discount (a percent of that amount, or a fixed amount no
larger than it) is rounded per line; a whole-invoice discount (a percent of the lines' sum
after their discounts, rounded, or a fixed amount) is spread over the lines in proportion to
what each costs after its own discount, each share rounded, and the kopecks left over by the
rounding go to the largest line (the first of equal ones). A line's total is its amount minus
both discounts; the invoice's total is the sum of its lines' totals (``billing.amounts``).
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.bounds import SANE_DATES, DateWindowValidator
from clinic.models import Branch, BranchOwnedQuerySet, Employee, PatientGroup, ReferenceItem
from clinic.softdelete import SoftDeleteModel
from patients.models import Patient
from pricelist.models import Service, ServiceCategory


class PaymentKind(models.TextChoices):
    CASH = "cash", _("Cash")
    CARD = "card", _("Card")
    TRANSFER = "transfer", _("Bank transfer")


class PaymentMethod(ReferenceItem):
    """How money is taken or given back: a reference book (cash, card, transfer...)."""

    kind = models.CharField(
        _("kind"), max_length=10, choices=PaymentKind.choices, default=PaymentKind.CASH
    )

    class Meta(ReferenceItem.Meta):
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")


class Account(models.Model):
    """Whose money a ledger entry moves: a patient's, or a family's shared deposit."""

    patient = models.OneToOneField(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="billing_account"
    )
    # A plain id: families are dissolved when their last member leaves, their money is not.
    family_id = models.BigIntegerField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.CheckConstraint(
                condition=(Q(patient__isnull=False) & Q(family_id__isnull=True))
                | (Q(patient__isnull=True) & Q(family_id__isnull=False)),
                name="billing_account_patient_or_family",
            ),
        ]

    def __str__(self) -> str:
        if self.patient_id:
            return f"patient {self.patient_id}"
        return f"family {self.family_id}"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    ROLLED_BACK = "rolled_back", _("Rolled back")


class InvoiceQuerySet(BranchOwnedQuerySet):
    def issued(self) -> "InvoiceQuerySet":
        return self.filter(status=InvoiceStatus.ISSUED)


class Invoice(models.Model):
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("patient")
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="+", verbose_name=_("branch")
    )
    # Given at issue, without gaps per branch and year (``clinic.numbering``).
    number = models.PositiveIntegerField(_("number"), null=True, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    appointment = models.ForeignKey(
        "calendar_app.Appointment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("visit"),
    )
    plan = models.ForeignKey(
        "clinical.TreatmentPlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("treatment plan"),
    )
    note = models.TextField(_("note"), blank=True)
    # The whole-invoice discount as asked (a percent or an amount) and what it was.
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    discount_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    discount_label = models.CharField(max_length=200, blank=True)
    subtotal = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, default=0)
    discount_total = models.DecimalField(_("discount"), max_digits=12, decimal_places=2, default=0)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2, default=0)
    # What is still owed on an issued invoice (0 on drafts and rolled-back ones): a copy of
    # ``total`` less the ledger's payments for it, rewritten from the ledger's sum by every
    # entry posted for the invoice (``billing.ledger.post``), never by arithmetic. The
    # debts list reads it (a partial index of the open invoices); the ledger stays the truth.
    due = models.DecimalField(_("due"), max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rolled_back_at = models.DateTimeField(null=True, blank=True)
    rolled_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rollback_reason = models.CharField(_("reason"), max_length=300, blank=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["patient", "status", "issued_at"], name="invoice_patient_idx"),
            models.Index(fields=["branch", "issued_at"], name="invoice_branch_issued_idx"),
            # The Payments tab: a patient's newest invoices first, a page at a time.
            models.Index(
                fields=["patient", "-created_at", "-id"], name="invoice_patient_created_idx"
            ),
            # The open invoices, a few percent of all: the debts list reads only these rows.
            models.Index(
                fields=["patient"],
                name="invoice_open_idx",
                condition=Q(status="issued", due__gt=0),
                include=["due", "issued_at", "branch"],
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "year", "number"],
                condition=Q(number__isnull=False),
                name="invoice_number_unique_per_branch_year",
            ),
            models.CheckConstraint(
                condition=Q(status=InvoiceStatus.DRAFT) | Q(number__isnull=False),
                name="invoice_issued_has_number",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="invoice_total_not_negative"),
            models.CheckConstraint(
                condition=Q(total=F("subtotal") - F("discount_total")), name="invoice_total_sum"
            ),
            models.CheckConstraint(
                condition=Q(due__gte=0) & Q(due__lte=F("total")), name="invoice_due_within_total"
            ),
        ]

    def __str__(self) -> str:
        if self.number:
            return _("Invoice No. %(number)s") % {"number": self.number}
        return str(_("Draft invoice"))

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @property
    def is_issued(self) -> bool:
        return self.status == InvoiceStatus.ISSUED


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="+", verbose_name=_("service")
    )
    # What the line said when made (the service may be renamed later).
    label = models.CharField(_("service"), max_length=400)
    tooth = models.PositiveSmallIntegerField(_("tooth"), null=True, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(_("discount"), max_digits=12, decimal_places=2, default=0)
    # What the line's discount was ("10%", a discount's name), for the discounts report.
    discount_label = models.CharField(max_length=200, blank=True)
    # The discount (``billing`` discounts, when they land) that was applied: a plain id.
    discount_ref = models.BigIntegerField(null=True, blank=True)
    invoice_discount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    doctor = models.ForeignKey(
        Employee,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("doctor"),
    )
    assistant = models.ForeignKey(
        Employee,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("assistant"),
    )
    appointment_service = models.ForeignKey(
        "calendar_app.AppointmentService",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    plan_line = models.ForeignKey(
        "clinical.PlanLine", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="invoice_line_quantity"),
            models.CheckConstraint(condition=Q(price__gte=0), name="invoice_line_price"),
            models.CheckConstraint(
                condition=Q(discount__gte=0) & Q(invoice_discount__gte=0),
                name="invoice_line_discounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(total=F("amount") - F("discount") - F("invoice_discount")),
                name="invoice_line_total_sum",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="invoice_line_total"),
        ]

    def __str__(self) -> str:
        return self.label


class Payment(models.Model):
    """Money taken for an invoice (by a method, or from the deposit: no method), or put on
    the deposit (no invoice). Only its rollback is ever written to it afterwards."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="payments")
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    method = models.ForeignKey(
        PaymentMethod,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("payment method"),
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rolled_back_at = models.DateTimeField(null=True, blank=True)
    rolled_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rollback_reason = models.CharField(_("reason"), max_length=300, blank=True)

    objects = BranchOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["patient", "received_at"], name="payment_patient_idx"),
            models.Index(fields=["branch", "received_at"], name="payment_branch_idx"),
            # The Payments tab's prepayments: a few rows among a long history's payments.
            models.Index(
                fields=["patient", "-received_at", "-id"],
                condition=Q(invoice__isnull=True),
                name="payment_deposit_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(invoice__isnull=False) | Q(method__isnull=False),
                name="payment_deposit_top_up_has_method",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} ({self.received_at:%d.%m.%Y})"

    @property
    def from_deposit(self) -> bool:
        return self.method_id is None

    @property
    def is_rolled_back(self) -> bool:
        return self.rolled_back_at is not None


class EntryKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    PAYMENT = "payment", _("Payment")
    DEPOSIT = "deposit", _("Deposit")
    WITHDRAWAL = "withdrawal", _("Withdrawal")
    REFUND = "refund", _("Refund")
    ROLLBACK = "rollback", _("Rollback")


class AppendOnlyError(Exception):
    """Ledger entries are never changed or deleted; a mistake is undone by a new entry."""


class LedgerQuerySet(BranchOwnedQuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Ledger entries are never updated.")

    def delete(self):
        raise AppendOnlyError("Ledger entries are never deleted.")


class LedgerEntry(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    # Whose operation it was (the account may be the family's). Indexed with the id below:
    # the Payments tab reads a patient's latest movements.
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    # Money that went through the till: in (positive) or out (negative); none for moves
    # between the deposit and an invoice.
    method = models.ForeignKey(
        PaymentMethod, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = LedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["account", "invoice"], name="ledger_account_invoice_idx"),
            models.Index(fields=["branch", "created_at"], name="ledger_branch_created_idx"),
            models.Index(fields=["patient", "-id"], name="ledger_patient_latest_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_amount_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Ledger entries are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Ledger entries are never deleted.")


ZERO = Decimal("0.00")


# === Discounts (issue 11, story 5) =========================================================
# The engine that computes what a discount gives is ``billing.discounts``; writes are
# ``billing.discount_services``.


# A person's age in whole years, as an age range bounds it.
MAX_AGE = 150


class DiscountScope(models.TextChoices):
    ORDER = "order", _("The whole order")
    ONLY = "only", _("Only the chosen services")
    EXCEPT = "except", _("Everything except the chosen services")


class DiscountRecipients(models.TextChoices):
    ALL = "all", _("All patients")
    AGE = "age", _("Patients of an age")
    GROUP = "group", _("A patient group")
    PATIENTS = "patients", _("Chosen patients")


class DiscountKind(models.TextChoices):
    PERCENT = "percent", _("Percent")
    AMOUNT = "amount", _("Fixed amount")


class Discount(SoftDeleteModel):
    """A discount or promotion: what it covers (the whole order, chosen services and
    categories, or everything but them), who gets it (everyone, an age range on the visit's
    date, patient groups, chosen patients), when (an optional period, both ends included)
    and how much (a percent of each covered line, or a fixed amount off the covered lines
    together). ``billing.discounts`` computes what it gives."""

    name = models.CharField(_("name"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    scope = models.CharField(
        _("applies to"), max_length=10, choices=DiscountScope.choices, default=DiscountScope.ORDER
    )
    services = models.ManyToManyField(
        Service, blank=True, related_name="+", verbose_name=_("services")
    )
    categories = models.ManyToManyField(
        ServiceCategory, blank=True, related_name="+", verbose_name=_("service categories")
    )
    recipients = models.CharField(
        _("recipients"),
        max_length=10,
        choices=DiscountRecipients.choices,
        default=DiscountRecipients.ALL,
    )
    age_from = models.PositiveSmallIntegerField(
        _("age from, years"), null=True, blank=True, validators=[MaxValueValidator(MAX_AGE)]
    )
    age_to = models.PositiveSmallIntegerField(
        _("age to, years"), null=True, blank=True, validators=[MaxValueValidator(MAX_AGE)]
    )
    patient_groups = models.ManyToManyField(
        PatientGroup, blank=True, related_name="+", verbose_name=_("patient groups")
    )
    patients = models.ManyToManyField(
        Patient, blank=True, related_name="+", verbose_name=_("patients")
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=DiscountKind.choices, default=DiscountKind.PERCENT
    )
    value = models.DecimalField(
        _("value"),
        max_digits=12,
        decimal_places=2,
        help_text=_("A percent (up to 100) or an amount in roubles."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(SoftDeleteModel.Meta):
        verbose_name = _("discount")
        verbose_name_plural = _("discounts")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gt=0), name="discount_value_positive"),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__lte=100),
                name="discount_percent_at_most_100",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_from__lte=models.F("valid_to")),
                name="discount_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(age_from__isnull=True)
                | Q(age_to__isnull=True)
                | Q(age_from__lte=models.F("age_to")),
                name="discount_ages_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, list] = {}
        for name in ("valid_from", "valid_to"):
            day = getattr(self, name)
            if day is not None:
                try:
                    DateWindowValidator(SANE_DATES)(day)
                except ValidationError as error:
                    errors.setdefault(name, []).extend(error.messages)
        if self.value is not None:
            if self.kind == DiscountKind.PERCENT and not 0 < self.value <= 100:
                errors.setdefault("value", []).append(
                    _("A percent discount is more than 0 and at most 100.")
                )
            elif self.kind == DiscountKind.AMOUNT and self.value <= 0:
                errors.setdefault("value", []).append(
                    _("A fixed discount is an amount greater than zero.")
                )
        if self.valid_from and self.valid_to and self.valid_from > self.valid_to:
            errors.setdefault("valid_to", []).append(_("The period ends before it starts."))
        if self.recipients == DiscountRecipients.AGE:
            if self.age_from is None and self.age_to is None:
                errors.setdefault("age_from", []).append(
                    _("Give the youngest age, the oldest or both.")
                )
            elif (
                self.age_from is not None
                and self.age_to is not None
                and self.age_from > self.age_to
            ):
                errors.setdefault("age_to", []).append(
                    _("The oldest age is less than the youngest.")
                )
        if errors:
            raise ValidationError(errors)


# === End of discounts ======================================================================


from billing.certificate_models import TaxCertificate  # noqa: E402, F401  (the register)
