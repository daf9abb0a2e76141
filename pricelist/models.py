"""The price list: categories and services. It sits below the calendar (a visit is booked with
services) and below billing (an invoice bills them); see docs/architecture.md."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinic.models import Profession
from clinic.softdelete import SoftDeleteModel


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
