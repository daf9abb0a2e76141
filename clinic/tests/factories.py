import datetime

import factory
from django.contrib.auth.models import Group, Permission
from factory.django import DjangoModelFactory

from clinic.models import (
    Branch,
    Chair,
    Employee,
    Gender,
    Measure,
    Profession,
    ProfessionKind,
    RightsGroup,
    Unit,
    User,
)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or "correct-horse-battery")
        if create:
            self.save(update_fields=["password"])


class BranchFactory(DjangoModelFactory):
    class Meta:
        model = Branch

    name = factory.Sequence(lambda n: f"Филиал {n}")
    address = "г. Москва, ул. Тестовая, д. 1"
    time_zone = "Europe/Moscow"
    opens_at = datetime.time(9)
    closes_at = datetime.time(21)
    position = factory.Sequence(lambda n: n)


class ChairFactory(DjangoModelFactory):
    class Meta:
        model = Chair

    branch = factory.SubFactory(BranchFactory)
    name = factory.Sequence(lambda n: f"Кресло {n}")
    position = factory.Sequence(lambda n: n)


class ProfessionFactory(DjangoModelFactory):
    class Meta:
        model = Profession
        django_get_or_create = ("name", "kind")

    name = "Терапевт"
    kind = ProfessionKind.DOCTOR


class GenderFactory(DjangoModelFactory):
    class Meta:
        model = Gender
        django_get_or_create = ("name",)

    name = "Женский"


class EmployeeFactory(DjangoModelFactory):
    class Meta:
        model = Employee
        skip_postgeneration_save = True

    kind = ProfessionKind.DOCTOR
    last_name = factory.Sequence(lambda n: f"Петров{n}")
    first_name = "Пётр"
    middle_name = "Петрович"
    color = "#3a87ad"

    @factory.post_generation
    def branches(self, create, extracted, **kwargs):
        if create and extracted:
            self.branches.set(extracted)

    @factory.post_generation
    def professions(self, create, extracted, **kwargs):
        if create and extracted:
            self.professions.set(extracted)


class UnitFactory(DjangoModelFactory):
    class Meta:
        model = Unit

    name = factory.Sequence(lambda n: f"Единица {n}")
    short_name = factory.Sequence(lambda n: f"ед{n}")
    measure = Measure.PIECE
    ratio = 1


class RightsGroupFactory(DjangoModelFactory):
    """A rights group with the given ``<module>_<action>`` codenames (``rights=[...]``)."""

    class Meta:
        model = RightsGroup
        skip_postgeneration_save = True

    group = factory.SubFactory(
        "clinic.tests.factories.GroupFactory", name=factory.Sequence(lambda n: f"Группа {n}")
    )
    description = ""

    @factory.post_generation
    def rights(self, create, extracted, **kwargs):
        if create and extracted:
            self.group.permissions.set(
                Permission.objects.filter(content_type__app_label="clinic", codename__in=extracted)
            )


class GroupFactory(DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Группа {n}")


def user_with_rights(*codenames: str, username: str | None = None, branch=None) -> User:
    """A login whose only rights are ``codenames`` (given individually), working in ``branch``."""
    user = UserFactory(**({"username": username} if username else {}))
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="clinic", codename__in=codenames)
    )
    EmployeeFactory(user=user, branches=[branch] if branch else [])
    return user
