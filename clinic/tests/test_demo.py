"""The demo: ``manage.py seed_demo`` on an empty database, and again."""

import io

import pytest
from django.core.management import call_command

from clinic import demo
from clinic.models import AuditEntry, Branch, Chair, Employee, Organization, User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """The demo stores a few generated X-rays: not in the working tree's media/."""
    settings.MEDIA_ROOT = tmp_path


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def core_state() -> dict:
    return {
        "branches": sorted(Branch.all_objects.values_list("name", "time_zone")),
        "chairs": sorted(Chair.all_objects.values_list("branch__name", "name", "position")),
        "employees": sorted(Employee.all_objects.values_list("last_name", "kind", "phone")),
        "users": sorted(User.objects.values_list("username", "password", "is_superuser")),
        "groups": sorted((u, g) for u, g in User.objects.values_list("username", "groups__name")),
        "organization": {**Organization.objects.values().get(), "updated_at": None},
    }


def test_seed_demo_fills_an_empty_database_and_a_second_run_changes_nothing():
    assert not Employee.all_objects.exists()
    out = seed()
    assert "Demo data loaded." in out
    assert Branch.objects.count() == 2
    assert Chair.objects.count() == 8
    assert Employee.objects.doctors().count() == 10
    assert {b.time_zone for b in Branch.objects.all()} == {"Europe/Moscow", "Asia/Yekaterinburg"}
    logins = dict(demo.DEMO_LOGINS)
    assert set(logins) == {"admin", "registrar", "doctor", "coordinator", "accountant"}
    for username in logins:
        user = User.objects.get(username=username)
        assert user.check_password(username), username
        assert user.employee is not None
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="doctor").employee.is_doctor
    assert User.objects.get(username="registrar").has_perm("clinic.patients_view")
    assert not User.objects.get(username="registrar").has_perm("clinic.staff_view")

    state = core_state()
    audit_count = AuditEntry.objects.count()
    out = seed()
    assert "skipped" in out
    assert core_state() == state
    assert AuditEntry.objects.count() == audit_count


def test_the_core_seeder_is_idempotent_when_run_again():
    demo.seed_core(lambda line: None)
    state = core_state()
    demo.seed_core(lambda line: None)
    assert core_state() == state
