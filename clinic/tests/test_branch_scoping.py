"""Branch scoping of the core: settings (branches, chairs), staff, the recycle bin.

A user sees the branches they work in (every branch as a superuser), those branches'
chairs, and the employees who work in at least one of them. The URL walk checks every URL
with another branch's objects; these tests pin the lists, the forms and the decisions.
"""

import pytest
from django.urls import reverse

from clinic import services, testing, trash
from clinic.models import AuditEntry, Branch, Chair, Employee
from clinic.tests.factories import BranchFactory, ChairFactory, EmployeeFactory

pytestmark = pytest.mark.django_db


# --- Querysets -----------------------------------------------------------------------------


def test_every_scoped_queryset_keeps_the_users_branches_and_a_superuser_sees_all(
    manager, admin_persona, branch, branch_elsewhere
):
    mine, theirs = ChairFactory(branch=branch), ChairFactory(branch=branch_elsewhere)
    assert set(Chair.objects.for_user(manager.user)) == {mine}
    assert set(Chair.objects.for_user(admin_persona.user)) >= {mine, theirs}


def test_an_employee_is_seen_from_every_branch_they_work_in(
    manager, branch, branch_elsewhere, django_assert_num_queries
):
    both = EmployeeFactory(branches=[branch, branch_elsewhere])
    theirs = EmployeeFactory(branches=[branch_elsewhere])
    with django_assert_num_queries(1):  # the scope is a subquery, not a query of its own
        seen = set(Employee.objects.for_user(manager.user))
    assert both in seen and theirs not in seen
    assert manager.employee in seen


# --- Settings: branches and chairs ---------------------------------------------------------


def test_the_branch_list_shows_only_the_users_branches(manager_client, branch, branch_elsewhere):
    response = manager_client.get(reverse("clinic:branch-list"))
    assert list(response.context["branches"]) == [branch]
    assert branch_elsewhere.name not in response.content.decode()


def test_a_branch_created_by_a_one_branch_user_is_theirs_to_set_up(manager_client, manager):
    response = manager_client.post(
        reverse("clinic:branch-create"),
        {
            "name": "Новый филиал",
            "time_zone": "Europe/Moscow",
            "opens_at": "09:00",
            "closes_at": "21:00",
        },
    )
    new = Branch.objects.get(name="Новый филиал")
    assert response.status_code == 302
    assert set(manager.employee.branches.all()) == {testing.main_branch(), new}
    assert manager_client.get(reverse("clinic:branch-detail", args=[new.pk])).status_code == 200
    entry = AuditEntry.objects.filter(object_id=str(manager.employee.pk)).latest("id")
    assert entry.changes == {
        "branches": [[testing.main_branch().pk], sorted([testing.main_branch().pk, new.pk])]
    }


def test_a_superuser_creating_a_branch_is_not_assigned_to_it(admin_client, admin_persona):
    admin_client.post(
        reverse("clinic:branch-create"),
        {
            "name": "Ещё филиал",
            "time_zone": "Europe/Moscow",
            "opens_at": "09:00",
            "closes_at": "21:00",
        },
    )
    assert not admin_persona.employee.branches.filter(name="Ещё филиал").exists()


# --- Staff ---------------------------------------------------------------------------------


def test_editing_a_shared_employee_keeps_the_branches_the_editor_does_not_see(
    manager_client, branch, branch_elsewhere
):
    shared = EmployeeFactory(last_name="Общая", branches=[branch, branch_elsewhere])
    url = reverse("clinic:employee-update", args=[shared.pk])
    form = manager_client.get(url).context["form"]
    assert list(form.fields["branches"].queryset) == [branch]
    data = {
        "employee-kind": shared.kind,
        "employee-last_name": "Общая-Иванова",
        "employee-first_name": shared.first_name,
        "employee-color": shared.color,
        "employee-branches": [branch.pk],
    }
    assert manager_client.post(url, data).status_code == 302
    shared.refresh_from_db()
    assert shared.last_name == "Общая-Иванова"
    assert set(shared.branches.all()) == {branch, branch_elsewhere}


def test_leaving_the_editors_branch_is_allowed_when_another_branch_remains(
    manager_client, branch, branch_elsewhere
):
    shared = EmployeeFactory(branches=[branch, branch_elsewhere])
    data = {
        "employee-kind": shared.kind,
        "employee-last_name": shared.last_name,
        "employee-first_name": shared.first_name,
        "employee-color": shared.color,
    }
    response = manager_client.post(reverse("clinic:employee-update", args=[shared.pk]), data)
    assert response.status_code == 302
    assert list(shared.branches.all()) == [branch_elsewhere]


def test_nobody_is_put_into_a_branch_the_editor_does_not_see(
    manager_client, manager, branch_elsewhere
):
    """Else a one-branch manager could add themselves to every branch."""
    own = manager.employee
    data = {
        "employee-kind": own.kind,
        "employee-last_name": own.last_name,
        "employee-first_name": own.first_name,
        "employee-color": own.color,
        "employee-branches": [branch_elsewhere.pk],
    }
    response = manager_client.post(reverse("clinic:employee-update", args=[own.pk]), data)
    assert response.status_code == 422
    assert "branches" in response.context["form"].errors
    assert list(own.branches.all()) == [testing.main_branch()]


def test_the_staff_filter_offers_only_the_users_branches(manager_client, branch, branch_elsewhere):
    response = manager_client.get(reverse("clinic:staff-list"))
    assert list(response.context["filter"].form.fields["branch"].queryset) == [branch]


def test_the_home_page_counts_the_users_branches_and_their_staff(
    manager_client, manager, branch, branch_elsewhere
):
    EmployeeFactory(branches=[branch_elsewhere])
    context = manager_client.get(reverse("clinic:home")).context
    assert context["branch_count"] == 1
    assert context["staff_count"] == Employee.objects.for_user(manager.user).count() == 1


# --- The recycle bin -------------------------------------------------------------------------


@pytest.fixture
def deleted_in_both(branch, branch_elsewhere, admin_persona):
    """A deleted chair, employee and branch on each side."""
    closed_here = BranchFactory(name="Закрытый свой")
    closed_there = BranchFactory(name="Закрытый чужой")
    made = {
        "here": [ChairFactory(branch=branch), EmployeeFactory(branches=[branch]), closed_here],
        "there": [
            ChairFactory(branch=branch_elsewhere),
            EmployeeFactory(branches=[branch_elsewhere]),
            closed_there,
        ],
    }
    return made


CORE_SECTIONS = [("chairs", Chair), ("employees", Employee), ("branches", Branch)]


def _delete_all(made, manager, admin_persona):
    # The manager works in the branch closed on their side, as its staff did.
    manager.employee.branches.add(made["here"][2])
    for side in made.values():
        for obj in side:
            services.object_soft_delete(obj=obj, by=admin_persona.user)


def test_the_recycle_bin_shows_and_restores_only_the_users_chairs_staff_and_branches(
    manager_client, manager, admin_persona, deleted_in_both
):
    _delete_all(deleted_in_both, manager, admin_persona)
    for index, (section, model) in enumerate(CORE_SECTIONS):
        page = manager_client.get(reverse("clinic:trash"), {"section": section})
        assert [obj.pk for obj in page.context["page"].object_list] == [
            deleted_in_both["here"][index].pk
        ], section
        theirs = deleted_in_both["there"][index]
        restore = reverse("clinic:trash-restore", args=[section, theirs.pk])
        assert manager_client.post(restore).status_code == 404
        assert model.all_objects.get(pk=theirs.pk).is_deleted
        mine = deleted_in_both["here"][index]
        restore = reverse("clinic:trash-restore", args=[section, mine.pk])
        assert manager_client.post(restore).status_code == 302
        assert not model.all_objects.get(pk=mine.pk).is_deleted


def test_every_recycle_bin_section_of_branch_scoped_rows_is_scoped():
    """A new section over a model with a branch is scoped by its queryset's ``for_user``
    (or its own ``scope``); patients are the one shared model with a (home) branch."""
    shared = {"patients"}
    unscoped = []
    for section in trash.sections():
        fields = {f.name for f in section.model._meta.get_fields()}
        branch_scoped = section.model is Branch or fields & {"branch", "branches"}
        if not branch_scoped or section.key in shared:
            continue
        if section.scope is None and not hasattr(section.deleted(), "for_user"):
            unscoped.append(section.key)
    assert unscoped == []
