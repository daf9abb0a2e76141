"""Invoices, payments, the patient's ledger, discounts and tax certificates (the billing issue).

The price list they bill from lives below the calendar, in ``pricelist``.
"""

# === Discounts (issue 11, story 5) =========================================================
# Kept in one block at the end of the file: the invoices live above it. The engine that
# computes what a discount gives is ``billing.discounts``; writes are ``billing.discount_services``.

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinic.bounds import SANE_DATES, DateWindowValidator
from clinic.models import PatientGroup
from clinic.softdelete import SoftDeleteModel
from patients.models import Patient
from pricelist.models import Service, ServiceCategory

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
