import zoneinfo
from functools import cache

from django.core.cache import cache as django_cache
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from clinic.files import RandomName
from clinic.softdelete import AliveManager, SoftDeleteModel, SoftDeleteQuerySet


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(zone)s"), params={"zone": value})


class Currency(models.TextChoices):
    RUB = "RUB", _("Russian rouble (₽)")
    KZT = "KZT", _("Kazakhstani tenge (₸)")
    BYN = "BYN", _("Belarusian rouble (Br)")
    UZS = "UZS", _("Uzbekistani sum")
    AMD = "AMD", _("Armenian dram (֏)")
    USD = "USD", _("US dollar ($)")
    EUR = "EUR", _("Euro (€)")


class Organization(models.Model):
    """The clinic or clinic network that owns this installation (one row)."""

    CACHE_KEY = "clinic:organization:v2"

    name = models.CharField(_("name"), max_length=200, default="Odonta")
    legal_name = models.CharField(_("legal name"), max_length=300, blank=True)
    inn = models.CharField(_("INN"), max_length=12, blank=True)
    kpp = models.CharField(_("KPP"), max_length=9, blank=True)
    ogrn = models.CharField(_("OGRN"), max_length=15, blank=True)
    medical_license = models.CharField(_("medical licence"), max_length=200, blank=True)
    license_issued_on = models.DateField(_("licence issued on"), null=True, blank=True)
    license_issued_by = models.CharField(_("licence issued by"), max_length=300, blank=True)
    legal_address = models.CharField(_("legal address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    website = models.URLField(_("website"), blank=True)
    director = models.CharField(_("director"), max_length=200, blank=True)
    bank_name = models.CharField(_("bank"), max_length=200, blank=True)
    bank_bik = models.CharField(_("BIK"), max_length=9, blank=True)
    bank_account = models.CharField(_("settlement account"), max_length=20, blank=True)
    bank_corr_account = models.CharField(_("correspondent account"), max_length=20, blank=True)
    logo = models.ImageField(_("logo"), upload_to=RandomName("organization"), blank=True)
    show_logo_in_sidebar = models.BooleanField(_("show the logo in the sidebar"), default=False)
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=Currency.RUB
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Moscow", validators=[validate_time_zone]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="organization_singleton")]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def load(cls) -> "Organization":
        organization = django_cache.get(cls.CACHE_KEY)
        if organization is None:
            organization, _created = cls.objects.get_or_create(pk=1)
            django_cache.set(cls.CACHE_KEY, organization, 300)
        return organization

    @classmethod
    def forget_cached(cls) -> None:
        django_cache.delete(cls.CACHE_KEY)


def sees_every_branch(user) -> bool:
    return bool(user.is_superuser)


class BranchQuerySet(SoftDeleteQuerySet):
    def for_user(self, user):
        """Branches an employee is assigned to; all of them for a superuser."""
        if sees_every_branch(user):
            return self
        return self.of_employee(user.pk)

    def of_employee(self, user_id: int):
        """Branches of the employee whose login is ``user_id``."""
        return self.filter(employees__user=user_id, employees__deleted_at__isnull=True)


BranchManager = AliveManager.from_queryset(BranchQuerySet)
BranchAllManager = models.Manager.from_queryset(BranchQuerySet)


class Branch(SoftDeleteModel):
    name = models.CharField(_("name"), max_length=150)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Moscow", validators=[validate_time_zone]
    )
    opens_at = models.TimeField(_("opening time"), default="09:00")
    closes_at = models.TimeField(_("closing time"), default="21:00")
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = BranchManager()  # type: ignore[assignment,misc]
    all_objects = BranchAllManager()  # type: ignore[assignment,misc]

    class Meta(SoftDeleteModel.Meta):
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="branch_opens_before_closing"
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(deleted_at__isnull=True),
                name="branch_unique_name",
                violation_error_message=_("A branch with this name already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


def in_user_branches(queryset, user):
    """The one scoped query that every lookup of a branch's row goes through (access
    helpers, form choices, the recycle bin, live topics): only the rows of the branches the
    user works in, every branch for a superuser. Outside them: 404."""
    if sees_every_branch(user):
        return queryset
    return queryset.filter(branch__in=Branch.objects.for_user(user))


class BranchOwnedQuerySet(models.QuerySet):
    """Rows that belong to one branch (a ``branch`` foreign key): invoices, payments."""

    def for_user(self, user):
        return in_user_branches(self, user)


class BranchScopedQuerySet(SoftDeleteQuerySet):
    """Soft-deletable rows of one branch: chairs, work shifts, visits, waiting-list entries."""

    def for_user(self, user):
        return in_user_branches(self, user)


class Chair(SoftDeleteModel):
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="chairs", verbose_name=_("branch")
    )
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = AliveManager.from_queryset(BranchScopedQuerySet)()  # type: ignore[assignment,misc]
    all_objects = models.Manager.from_queryset(BranchScopedQuerySet)()  # type: ignore[assignment,misc]

    class Meta(SoftDeleteModel.Meta):
        verbose_name = _("chair")
        verbose_name_plural = _("chairs")
        ordering = ["branch", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "name"],
                condition=Q(deleted_at__isnull=True),
                name="chair_unique_name_in_branch",
                violation_error_message=_("The branch already has a chair with this name."),
            ),
        ]

    def __str__(self) -> str:
        return self.name
