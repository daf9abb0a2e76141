"""The general reference books: small editable lists that other modules pick from."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clinic.softdelete import SoftDeleteModel


class ReferenceItem(SoftDeleteModel):
    """A named entry of a reference book; deactivating it sends it to the recycle bin."""

    name = models.CharField(_("name"), max_length=150)
    position = models.PositiveIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(SoftDeleteModel.Meta):
        abstract = True
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                condition=Q(deleted_at__isnull=True),
                name="%(app_label)s_%(class)s_unique_name",
                violation_error_message=_("An entry with this name already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Gender(ReferenceItem):
    class Meta(ReferenceItem.Meta):
        verbose_name = _("gender")
        verbose_name_plural = _("genders")


class ProfessionKind(models.TextChoices):
    DOCTOR = "doctor", _("Doctor")
    STAFF = "staff", pgettext_lazy("employee type", "Staff")


class Profession(ReferenceItem):
    kind = models.CharField(_("kind"), max_length=10, choices=ProfessionKind.choices)

    class Meta(ReferenceItem.Meta):
        verbose_name = _("profession")
        verbose_name_plural = _("professions")
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "kind",
                condition=Q(deleted_at__isnull=True),
                name="profession_unique_name_per_kind",
                violation_error_message=_("An entry with this name already exists."),
            ),
        ]


class ParentDiagnosisGroup(ReferenceItem):
    class Meta(ReferenceItem.Meta):
        verbose_name = _("parent diagnosis group")
        verbose_name_plural = _("parent diagnosis groups")


class Insurer(ReferenceItem):
    class Meta(ReferenceItem.Meta):
        verbose_name = _("insurer")
        verbose_name_plural = _("insurers")


class MarketingChannel(ReferenceItem):
    class Meta(ReferenceItem.Meta):
        verbose_name = _("marketing channel")
        verbose_name_plural = _("marketing channels")


class PatientGroup(ReferenceItem):
    class Meta(ReferenceItem.Meta):
        verbose_name = _("patient group")
        verbose_name_plural = _("patient groups")


class Measure(models.TextChoices):
    PIECE = "piece", _("Pieces")
    MASS = "mass", _("Mass")
    VOLUME = "volume", _("Volume")
    LENGTH = "length", _("Length")
    PACKAGE = "package", _("Packages")


class Unit(ReferenceItem):
    short_name = models.CharField(_("short name"), max_length=20)
    measure = models.CharField(_("measure"), max_length=10, choices=Measure.choices)
    ratio = models.DecimalField(
        _("ratio to the base unit"),
        max_digits=14,
        decimal_places=6,
        default=1,
        help_text=_("How many base units of this measure one unit holds (1 g = 0.001 kg)."),
    )

    class Meta(ReferenceItem.Meta):
        verbose_name = _("unit of measure")
        verbose_name_plural = _("units of measure")
        constraints = [
            *ReferenceItem.Meta.constraints,
            models.CheckConstraint(condition=Q(ratio__gt=0), name="unit_ratio_positive"),
        ]

    def clean(self) -> None:
        # The constraint alone would only say "Constraint unit_ratio_positive is violated".
        super().clean()
        if self.ratio is not None and self.ratio <= 0:
            raise ValidationError({"ratio": _("The ratio must be above zero.")})


class PayPeriod(models.TextChoices):
    MONTH = "month", _("Per month")
    DAY = "day", _("Per day")
    HOUR = "hour", _("Per hour")
    SHIFT = "shift", _("Per shift")
    CUSTOM = "custom", _("Other")


class PayVariant(ReferenceItem):
    period = models.CharField(
        _("period"), max_length=10, choices=PayPeriod.choices, default=PayPeriod.MONTH
    )

    class Meta(ReferenceItem.Meta):
        verbose_name = _("pay variant")
        verbose_name_plural = _("pay variants")
