from django.contrib.auth.models import AbstractUser, Group
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic.modules import all_permissions
from clinic.softdelete import AliveManager, SoftDeleteModel, SoftDeleteQuerySet

from .organization import Branch, sees_every_branch
from .people import PersonName
from .references import Profession, ProfessionKind


class User(AbstractUser):
    """A login account. Who the person is at the clinic lives on ``Employee``."""

    # The interface language the person chose; empty: the browser's. Applied on every
    # request (``UserLanguageMiddleware``), so it follows them to any computer.
    language = models.CharField(_("interface language"), max_length=10, blank=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        employee = getattr(self, "employee", None)
        return employee.short_name if employee else self.get_username()


class ModuleRight(models.Model):
    """Carries the ``<module>_<action>`` permissions; it has no table of its own."""

    class Meta:
        verbose_name = _("module right")
        verbose_name_plural = _("module rights")
        managed = False
        default_permissions = ()
        permissions = all_permissions()

    def __str__(self) -> str:
        return "module rights"


class RightsGroup(SoftDeleteModel):
    """A named set of module rights (a Django ``Group`` underneath)."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="rights_group")
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta(SoftDeleteModel.Meta):
        verbose_name = _("rights group")
        verbose_name_plural = _("rights groups")
        ordering = ["group__name"]

    def __str__(self) -> str:
        return self.group.name


color_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #3a87ad."))


class EmployeeQuerySet(SoftDeleteQuerySet):
    def doctors(self):
        return self.filter(kind=ProfessionKind.DOCTOR)

    def in_branch(self, branch):
        return self.filter(branches=branch)

    def for_user(self, user):
        """Employees who work in at least one of the user's branches (all for a superuser).

        An employee may work in several branches; those the user does not see stay as they
        are when the user edits the employee (``EmployeeForm``)."""
        if sees_every_branch(user):
            return self
        links = Employee.branches.through.objects.filter(branch__in=Branch.objects.for_user(user))
        return self.filter(pk__in=links.values("employee_id"))


EmployeeManager = AliveManager.from_queryset(EmployeeQuerySet)
EmployeeAllManager = models.Manager.from_queryset(EmployeeQuerySet)


class Employee(PersonName, SoftDeleteModel):
    kind = models.CharField(
        _("type"), max_length=10, choices=ProfessionKind.choices, default=ProfessionKind.DOCTOR
    )
    last_name = models.CharField(_("last name"), max_length=100)
    first_name = models.CharField(_("first name"), max_length=100)
    middle_name = models.CharField(_("patronymic"), max_length=100, blank=True)
    professions = models.ManyToManyField(
        Profession, related_name="employees", blank=True, verbose_name=_("professions")
    )
    branches = models.ManyToManyField(
        Branch, related_name="employees", blank=True, verbose_name=_("branches")
    )
    phone = models.CharField(_("phone"), max_length=16, blank=True)
    email = models.EmailField(_("email"), blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    hired_on = models.DateField(_("hired on"), null=True, blank=True)
    color = models.CharField(
        _("calendar colour"), max_length=7, default="#3a87ad", validators=[color_validator]
    )
    notes = models.TextField(_("notes"), blank=True)
    user = models.OneToOneField(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="employee",
        verbose_name=_("login account"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EmployeeManager()  # type: ignore[assignment,misc]
    all_objects = EmployeeAllManager()  # type: ignore[assignment,misc]

    class Meta(SoftDeleteModel.Meta):
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        ordering = ["last_name", "first_name", "middle_name"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def is_doctor(self) -> bool:
        return self.kind == ProfessionKind.DOCTOR
