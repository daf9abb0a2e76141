"""Test personas shared by every app's tests (fixtures in the root conftest.py).

Each persona is an employee with a login in the demo rights group of its role, working in
one branch; ``doctor_elsewhere`` works in another branch, for the branch-scoping tests.
"""

from dataclasses import dataclass

from clinic import demo
from clinic.models import Branch, Employee, ProfessionKind, User
from clinic.tests.factories import BranchFactory, EmployeeFactory, ProfessionFactory, UserFactory

ROLES = ("management", "registrar", "doctor", "coordinator", "accountant")


@dataclass
class Persona:
    role: str
    user: User
    employee: Employee


def make_persona(
    role: str, branch: Branch, *, username: str | None = None, password: str | None = None
) -> Persona:
    """A user with the demo role's rights group and an employee card in ``branch``; with a
    ``password``, one that signs in through the login form (browser tests)."""
    groups = demo.ensure_rights_groups()
    user = UserFactory(username=username or role)
    if password is not None:
        user.set_password(password)
        user.save(update_fields=["password"])
    user.groups.set([groups[role].group])
    kind = ProfessionKind.DOCTOR if role == "doctor" else ProfessionKind.STAFF
    profession = ProfessionFactory(
        name="Терапевт" if kind == ProfessionKind.DOCTOR else "Администратор", kind=kind
    )
    employee = EmployeeFactory(
        user=user,
        kind=kind,
        last_name=role.capitalize(),
        branches=[branch],
        professions=[profession],
    )
    return Persona(role, user, employee)


def make_admin(branch: Branch, *, password: str | None = None) -> Persona:
    persona = make_persona("management", branch, username="admin", password=password)
    persona.user.is_superuser = persona.user.is_staff = True
    persona.user.save()
    return persona


def main_branch() -> Branch:
    return Branch.objects.filter(name="Главный филиал").first() or BranchFactory(
        name="Главный филиал"
    )


def other_branch() -> Branch:
    return Branch.objects.filter(name="Другой филиал").first() or BranchFactory(
        name="Другой филиал", time_zone="Asia/Yekaterinburg"
    )
