"""The price list: categories and services. It sits below the calendar (a visit is booked with
services) and below billing (an invoice bills them); see docs/architecture.md."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.models import Branch, Profession, sees_every_branch
from clinic.softdelete import SoftDeleteModel

# K02.1, K00.00, Z01.2, K08: a letter, two digits, then up to two more after a dot.
ICD10_CODE = re.compile(r"[A-Z]\d{2}(?:\.\d{1,2})?")


def validate_icd10_code(value: str) -> None:
    if not ICD10_CODE.fullmatch(value or ""):
        raise ValidationError(
            _("%(code)s is not an ICD-10 code (like K02.1)."),
            code="icd10",
            params={"code": value},
        )


class TaxCode(models.IntegerChoices):
    """The service code of the tax-deduction certificate (KND 1151156): the deduction for
    ordinary medical services is capped, for expensive treatment (the government's list) not."""

    ORDINARY = 1, _("1: ordinary medical services")
    EXPENSIVE = 2, _("2: expensive treatment")


class ServiceCategory(SoftDeleteModel):
    name = models.CharField(_("name"), max_length=150)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta(SoftDeleteModel.Meta):
        verbose_name = _("service category")
        verbose_name_plural = _("service categories")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(deleted_at__isnull=True),
                name="service_category_unique_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Service(SoftDeleteModel):
    category = models.ForeignKey(
        ServiceCategory,
        on_delete=models.PROTECT,
        related_name="services",
        verbose_name=_("category"),
    )
    code = models.CharField(_("code"), max_length=30, help_text=_("The 804н nomenclature code."))
    name = models.CharField(_("name"), max_length=300)
    duration_minutes = models.PositiveSmallIntegerField(_("duration, minutes"), default=30)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    per_tooth = models.BooleanField(_("priced per tooth"), default=False)
    profession = models.ForeignKey(
        Profession,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="services",
        verbose_name=_("doctor profession"),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    tax_code = models.PositiveSmallIntegerField(
        _("tax certificate code"), choices=TaxCode.choices, default=TaxCode.ORDINARY
    )

    class Meta(SoftDeleteModel.Meta):
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["category__position", "position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=Q(deleted_at__isnull=True), name="service_unique_code"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="service_price_not_negative"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0), name="service_duration_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PriceListKind(models.TextChoices):
    BASE = "base", _("base")
    BRANCH = "branch", _("branch")
    # Insurers' lists come with the DMS module as a third kind (with an insurer).


class PriceListQuerySet(models.QuerySet):
    def for_user(self, user):
        """The base list and the lists of the branches the user sees."""
        if sees_every_branch(user):
            return self
        return self.filter(
            Q(branch__isnull=True) | Q(branch__in=Branch.objects.for_user(user).values("pk"))
        )


class PriceList(models.Model):
    """A list of prices: exactly one base list, and a branch's own list where the branch
    charges differently. A visit takes the branch list's price where it has one on the
    visit's day, else the base list's (``pricelist.prices``)."""

    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(
        _("kind"), max_length=20, choices=PriceListKind.choices, default=PriceListKind.BRANCH
    )
    branch = models.ForeignKey(
        Branch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("branch"),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    objects = PriceListQuerySet.as_manager()

    class Meta:
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(kind="base"),
                name="pricelist_one_base_list",
                violation_error_message=_("There is one base price list."),
            ),
            models.UniqueConstraint(
                fields=["branch"],
                condition=Q(kind="branch"),
                name="pricelist_one_list_per_branch",
                violation_error_message=_("This branch has its own price list already."),
            ),
            models.CheckConstraint(
                condition=(Q(kind="base", branch__isnull=True, active=True))
                | Q(kind="branch", branch__isnull=False),
                name="pricelist_kind_matches_branch",
                violation_error_message=_(
                    "The base list has no branch and stays active; a branch list names its branch."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_base(self) -> bool:
        return self.kind == PriceListKind.BASE


class Price(models.Model):
    """One entry of a service's price history in a list: the amount from a day on, until
    the next entry's day. Entries in effect before today are never changed."""

    price_list = models.ForeignKey(
        PriceList, on_delete=models.PROTECT, related_name="prices", verbose_name=_("price list")
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="prices", verbose_name=_("service")
    )
    amount = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    effective_from = models.DateField(_("effective from"))
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        ordering = ["service", "price_list", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "service", "effective_from"],
                name="price_one_per_list_service_day",
                violation_error_message=_("This list has a price of the service from that day."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="price_amount_not_negative",
                violation_error_message=_("A price cannot be negative."),
            ),
        ]
        indexes = [models.Index(fields=["service", "effective_from"], name="price_service_day")]

    def __str__(self) -> str:
        return f"{self.service_id}: {self.amount} ({self.effective_from})"


class ConsumableMode(models.TextChoices):
    BY_PRICE = "price", _("by price")
    BY_QUANTITY = "quantity", _("by quantity")


class ServiceConsumable(models.Model):
    """A material a service uses: "by quantity" (so many units per service) or "by price"
    (materials for so much money). Stored and edited only; the warehouse, once it exists,
    writes stock off from it and links ``material`` to its own materials."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="consumables", verbose_name=_("service")
    )
    material = models.CharField(_("material"), max_length=200)
    unit = models.CharField(_("unit"), max_length=30, blank=True)
    mode = models.CharField(
        _("write-off"),
        max_length=10,
        choices=ConsumableMode.choices,
        default=ConsumableMode.BY_QUANTITY,
    )
    value = models.DecimalField(_("quantity or amount"), max_digits=12, decimal_places=3)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("consumable")
        verbose_name_plural = _("consumables")
        ordering = ["service", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(value__gt=0),
                name="service_consumable_value_positive",
                violation_error_message=_("A quantity or an amount is above zero."),
            ),
        ]

    def __str__(self) -> str:
        return self.material


class ServiceDiagnosis(models.Model):
    """An ICD-10 code a service typically treats, as text: the diagnoses' reference book is
    the clinical record's, above this app. The clinical record reads them by code
    (``pricelist.selectors.typical_codes``)."""

    service = models.ForeignKey(
        Service,
        on_delete=models.CASCADE,
        related_name="typical_diagnoses",
        verbose_name=_("service"),
    )
    code = models.CharField(_("ICD-10 code"), max_length=10, validators=[validate_icd10_code])

    class Meta:
        verbose_name = _("typical diagnosis")
        verbose_name_plural = _("typical diagnoses")
        ordering = ["service", "code"]
        constraints = [
            models.UniqueConstraint(fields=["service", "code"], name="service_diagnosis_unique"),
        ]
        indexes = [models.Index(fields=["code"], name="service_diagnosis_code")]

    def __str__(self) -> str:
        return self.code
