"""Staff: the list, creating and editing employees, their logins and individual rights."""

import csv
import io

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from clinic.models import AuditAction, AuditEntry, Employee, ProfessionKind, RightsGroup, User
from clinic.tests.factories import (
    BranchFactory,
    EmployeeFactory,
    ProfessionFactory,
    RightsGroupFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LIST = reverse("clinic:staff-list")
CREATE = reverse("clinic:employee-create")


@pytest.fixture
def therapist():
    return ProfessionFactory(name="Терапевт", kind=ProfessionKind.DOCTOR)


@pytest.fixture
def administrator():
    return ProfessionFactory(name="Администратор", kind=ProfessionKind.STAFF)


def employee_data(branch, profession, **overrides) -> dict:
    data = {
        "employee-kind": ProfessionKind.DOCTOR,
        "employee-last_name": "Сидорова",
        "employee-first_name": "Ольга",
        "employee-middle_name": "Павловна",
        "employee-professions": [profession.pk],
        "employee-branches": [branch.pk],
        "employee-phone": "",
        "employee-email": "",
        "employee-color": "#3a87ad",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def form_errors(response, form: str = "form") -> dict:
    return response.context[form].errors


# --- Creating ----------------------------------------------------------------------------


def test_an_employee_without_a_login_is_created_and_audited(
    admin_client, admin_persona, branch, therapist
):
    response = admin_client.post(
        CREATE, employee_data(branch, therapist, **{"employee-phone": "8 (912) 345-67-89"})
    )
    employee = Employee.objects.get(last_name="Сидорова")
    assert response.status_code == 302
    assert response.url == reverse("clinic:employee-detail", args=[employee.pk])
    assert employee.user is None
    assert employee.phone == "+79123456789"
    assert list(employee.branches.all()) == [branch]
    assert list(employee.professions.all()) == [therapist]
    entry = AuditEntry.objects.get(object_id=str(employee.pk), action=AuditAction.CREATE)
    assert entry.actor == admin_persona.user
    assert entry.changes["last_name"] == [None, "Сидорова"]
    assert entry.changes["branches"] == [None, [branch.pk]]


def test_an_employee_with_a_login_can_sign_in_with_it_and_has_the_groups_rights(
    admin_client, branch, administrator
):
    group = RightsGroupFactory(rights=["home_view", "staff_view"])
    data = employee_data(
        branch,
        administrator,
        **{
            "employee-kind": ProfessionKind.STAFF,
            "with_login": "on",
            "login-username": "sidorova",
            "login-password": "Very-secret-42",
            "login-rights_groups": [group.pk],
        },
    )
    response = admin_client.post(CREATE, data)
    assert response.status_code == 302
    employee = Employee.objects.get(last_name="Сидорова")
    assert employee.user.username == "sidorova"
    assert employee.user.first_name == "Ольга"
    assert list(employee.user.groups.all()) == [group.group]
    assert employee.user.has_perm("clinic.staff_view")
    client = Client()
    assert client.login(username="sidorova", password="Very-secret-42")
    assert client.get(LIST).status_code == 200


def test_the_login_part_is_ignored_unless_asked_for(admin_client, branch, therapist):
    data = employee_data(branch, therapist, **{"login-username": "ghost", "login-password": ""})
    assert admin_client.post(CREATE, data).status_code == 302
    assert not User.objects.filter(username="ghost").exists()


@pytest.mark.parametrize(
    ("kind", "wrong_kind_profession"),
    [(ProfessionKind.DOCTOR, "administrator"), (ProfessionKind.STAFF, "therapist")],
)
def test_the_profession_must_match_the_employee_type(
    admin_client, branch, kind, wrong_kind_profession, request
):
    profession = request.getfixturevalue(wrong_kind_profession)
    response = admin_client.post(
        CREATE, employee_data(branch, profession, **{"employee-kind": kind})
    )
    assert response.status_code == 422
    (message,) = form_errors(response)["professions"]
    assert profession.name in message
    assert not Employee.objects.filter(last_name="Сидорова").exists()


def test_at_least_one_branch_is_required(admin_client, branch, therapist):
    response = admin_client.post(
        CREATE, employee_data(branch, therapist, **{"employee-branches": None})
    )
    assert response.status_code == 422
    assert form_errors(response)["branches"] == [_("Choose at least one branch.")]


def test_a_phone_that_does_not_exist_is_refused(admin_client, branch, therapist):
    response = admin_client.post(
        CREATE, employee_data(branch, therapist, **{"employee-phone": "+7 000 000-00-00"})
    )
    assert response.status_code == 422
    assert "phone" in form_errors(response)
    assert not Employee.objects.filter(last_name="Сидорова").exists()


def test_a_taken_login_is_refused_whatever_its_case(admin_client, branch, therapist):
    UserFactory(username="Ivanova")
    data = employee_data(
        branch,
        therapist,
        **{"with_login": "on", "login-username": "ivanova", "login-password": "Very-secret-42"},
    )
    response = admin_client.post(CREATE, data)
    assert response.status_code == 422
    assert form_errors(response, "login_form")["username"] == [_("This login is already taken.")]
    assert not Employee.objects.filter(last_name="Сидорова").exists()


@pytest.mark.parametrize("password", ["short", "12345678901", "password123", ""])
def test_weak_or_missing_passwords_are_refused(admin_client, branch, therapist, password):
    data = employee_data(
        branch,
        therapist,
        **{"with_login": "on", "login-username": "newcomer", "login-password": password},
    )
    response = admin_client.post(CREATE, data)
    assert response.status_code == 422
    assert "password" in form_errors(response, "login_form")
    assert not User.objects.filter(username="newcomer").exists()


def test_a_login_with_spaces_is_refused(admin_client, branch, therapist):
    data = employee_data(
        branch,
        therapist,
        **{"with_login": "on", "login-username": "two words", "login-password": "Very-secret-42"},
    )
    response = admin_client.post(CREATE, data)
    assert response.status_code == 422
    assert "username" in form_errors(response, "login_form")


def test_the_create_page_opens_for_staff_change_only(client, admin_persona, registrar):
    client.force_login(admin_persona.user)
    assert client.get(CREATE).status_code == 200
    client.force_login(registrar.user)
    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, {}).status_code == 403


# --- Editing -----------------------------------------------------------------------------


def test_editing_records_only_the_changed_fields(admin_client, branch, therapist):
    employee = EmployeeFactory(
        last_name="Сидорова", first_name="Ольга", branches=[branch], professions=[therapist]
    )
    other = BranchFactory(name="Второй филиал")
    data = employee_data(
        branch,
        therapist,
        **{"employee-first_name": "Олеся", "employee-branches": [branch.pk, other.pk]},
    )
    data["employee-middle_name"] = employee.middle_name
    response = admin_client.post(reverse("clinic:employee-update", args=[employee.pk]), data)
    assert response.status_code == 302
    entry = AuditEntry.objects.get(object_id=str(employee.pk), action=AuditAction.UPDATE)
    assert entry.changes == {
        "first_name": ["Ольга", "Олеся"],
        "branches": [[branch.pk], sorted([branch.pk, other.pk])],
    }


def test_renaming_an_employee_renames_their_login_account(admin_client, branch, therapist):
    user = UserFactory(first_name="Ольга", last_name="Сидорова")
    employee = EmployeeFactory(
        user=user, last_name="Сидорова", branches=[branch], professions=[therapist]
    )
    data = employee_data(branch, therapist, **{"employee-last_name": "Петрова"})
    data["employee-middle_name"] = employee.middle_name
    admin_client.post(reverse("clinic:employee-update", args=[employee.pk]), data)
    user.refresh_from_db()
    assert user.last_name == "Петрова"


def test_an_invalid_edit_changes_nothing(admin_client, branch, therapist):
    employee = EmployeeFactory(last_name="Сидорова", branches=[branch], professions=[therapist])
    data = employee_data(branch, therapist, **{"employee-last_name": ""})
    response = admin_client.post(reverse("clinic:employee-update", args=[employee.pk]), data)
    assert response.status_code == 422
    employee.refresh_from_db()
    assert employee.last_name == "Сидорова"
    assert not AuditEntry.objects.filter(object_id=str(employee.pk)).exists()


def test_the_detail_page_shows_rights_from_groups_and_individual_ones(
    admin_client, admin_persona, branch
):
    group = RightsGroupFactory(rights=["home_view"])
    user = UserFactory()
    user.groups.add(group.group)
    employee = EmployeeFactory(user=user, branches=[branch])
    from clinic.services import employee_set_rights

    employee_set_rights(employee=employee, by=admin_persona.user, codenames=["staff_view"])
    response = admin_client.get(reverse("clinic:employee-detail", args=[employee.pk]))
    assert response.status_code == 200
    checked = {
        cell["codename"]
        for row in response.context["matrix"]
        for cell in row["cells"]
        if cell["checked"]
    }
    assert checked == {"home_view", "staff_view"}
    assert response.context["own_rights"] == {"staff_view"}


# --- The login page ----------------------------------------------------------------------


def login_url(employee) -> str:
    return reverse("clinic:employee-login", args=[employee.pk])


def test_the_login_page_creates_a_login_for_an_employee_without_one(admin_client, branch):
    employee = EmployeeFactory(branches=[branch])
    group = RightsGroupFactory()
    response = admin_client.post(
        login_url(employee),
        {"username": "newlogin", "password": "Very-secret-42", "rights_groups": [group.pk]},
    )
    assert response.status_code == 302
    employee.refresh_from_db()
    assert employee.user.username == "newlogin"
    assert employee.user.check_password("Very-secret-42")
    assert list(employee.user.groups.all()) == [group.group]
    changes = [
        e.changes for e in AuditEntry.objects.filter(object_id=str(employee.pk)).order_by("id")
    ]
    assert {"login": [None, "newlogin"]} in changes


def test_a_new_login_needs_a_password(admin_client, branch):
    employee = EmployeeFactory(branches=[branch])
    response = admin_client.post(login_url(employee), {"username": "newlogin", "password": ""})
    assert response.status_code == 422
    employee.refresh_from_db()
    assert employee.user is None


def test_the_login_page_renames_and_keeps_the_password_when_left_empty(admin_client, branch):
    user = UserFactory(username="oldname", password="Old-secret-42")
    employee = EmployeeFactory(user=user, branches=[branch])
    response = admin_client.post(login_url(employee), {"username": "newname", "password": ""})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.username == "newname"
    assert user.check_password("Old-secret-42")
    entry = AuditEntry.objects.filter(object_id=str(employee.pk)).latest("id")
    assert entry.changes == {"login": ["oldname", "newname"]}


def test_the_login_page_sets_a_new_password_without_recording_it(admin_client, branch):
    user = UserFactory(username="keeper", password="Old-secret-42")
    employee = EmployeeFactory(user=user, branches=[branch])
    admin_client.post(login_url(employee), {"username": "keeper", "password": "New-secret-42"})
    user.refresh_from_db()
    assert user.check_password("New-secret-42")
    entry = AuditEntry.objects.filter(object_id=str(employee.pk)).latest("id")
    assert entry.changes == {"password": ["***", "***"]}
    assert "New-secret-42" not in str(entry.changes)


def test_renaming_to_a_taken_login_is_refused(admin_client, branch):
    UserFactory(username="taken")
    employee = EmployeeFactory(user=UserFactory(username="mine"), branches=[branch])
    response = admin_client.post(login_url(employee), {"username": "TAKEN", "password": ""})
    assert response.status_code == 422
    assert response.context["form"].errors["username"] == [_("This login is already taken.")]
    assert User.objects.get(pk=employee.user_id).username == "mine"


def test_the_login_page_needs_the_staff_rights_right(client, accountant, branch):
    employee = EmployeeFactory(branches=[branch])
    client.force_login(accountant.user)  # may view staff, may not manage rights
    assert client.get(reverse("clinic:employee-detail", args=[employee.pk])).status_code == 200
    assert client.get(login_url(employee)).status_code == 403
    assert client.post(login_url(employee), {"username": "x", "password": "y"}).status_code == 403


# --- Individual rights -------------------------------------------------------------------


def test_individual_rights_add_to_the_groups_rights(admin_client, registrar):
    client = Client()
    client.force_login(registrar.user)
    assert client.get(LIST).status_code == 403
    response = admin_client.post(
        reverse("clinic:employee-rights", args=[registrar.employee.pk]), {"rights": ["staff_view"]}
    )
    assert response.status_code == 302
    assert client.get(LIST).status_code == 200
    assert client.get("/patients/").status_code == 200  # the group's rights still apply
    entry = AuditEntry.objects.filter(object_id=str(registrar.employee.pk)).latest("id")
    assert entry.changes == {"rights": [[], ["staff_view"]]}


def test_unknown_rights_are_refused(admin_client, registrar):
    response = admin_client.post(
        reverse("clinic:employee-rights", args=[registrar.employee.pk]),
        {"rights": ["staff_view", "root_everything"]},
    )
    assert response.status_code in (200, 422)
    assert "rights" in response.context["form"].errors
    assert not registrar.user.user_permissions.exists()


def test_rights_of_an_employee_without_a_login_send_you_to_create_one(admin_client, branch):
    employee = EmployeeFactory(branches=[branch])
    response = admin_client.get(reverse("clinic:employee-rights", args=[employee.pk]))
    assert response.status_code == 302
    assert response.url == login_url(employee)


# --- Deactivating ------------------------------------------------------------------------


def test_a_user_cannot_deactivate_themselves(admin_client, admin_persona):
    url = reverse("clinic:employee-delete", args=[admin_persona.employee.pk])
    dialog = admin_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "data-delete-refused" in dialog and "data-delete-confirm" not in dialog
    response = admin_client.post(url)
    assert response.url == reverse("clinic:employee-detail", args=[admin_persona.employee.pk])
    (message,) = get_messages(response.wsgi_request)
    assert str(message) == _("You cannot deactivate yourself.")
    admin_persona.user.refresh_from_db()
    assert admin_persona.user.is_active
    assert Employee.objects.filter(pk=admin_persona.employee.pk).exists()


def test_deactivating_asks_in_a_dialog_first(admin_client, branch):
    employee = EmployeeFactory(branches=[branch])
    url = reverse("clinic:employee-delete", args=[employee.pk])
    dialog = admin_client.get(url, HTTP_HX_REQUEST="true")
    assert dialog.status_code == 200 and "data-delete-confirm" in dialog.content.decode()
    assert Employee.objects.filter(pk=employee.pk).exists()
    response = admin_client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == LIST
    assert not Employee.objects.filter(pk=employee.pk).exists()


# --- The list ----------------------------------------------------------------------------


@pytest.fixture
def staff(branch, therapist, administrator):
    other = BranchFactory(name="Екатеринбург")
    surgeon = ProfessionFactory(name="Хирург", kind=ProfessionKind.DOCTOR)
    return {
        "ivanov": EmployeeFactory(
            last_name="Иванов",
            first_name="Иван",
            phone="+79120000001",
            branches=[branch],
            professions=[therapist],
            user=UserFactory(username="ivanov"),
        ),
        "petrova": EmployeeFactory(
            last_name="Петрова",
            first_name="Анна",
            branches=[other],
            professions=[surgeon],
        ),
        "sidorov": EmployeeFactory(
            kind=ProfessionKind.STAFF,
            last_name="Сидоров",
            first_name="Семён",
            branches=[branch, other],
            professions=[administrator],
        ),
        "other_branch": other,
        "surgeon": surgeon,
    }


def listed(response) -> list[str]:
    return [employee.last_name for employee in response.context["page"].object_list]


def test_the_list_shows_the_staff_of_the_users_branches_alphabetically(client, accountant, staff):
    client.force_login(accountant.user)
    response = client.get(LIST)
    assert response.status_code == 200
    # Петрова works only in the other branch; Сидоров in both.
    assert listed(response) == ["Accountant", "Иванов", "Сидоров"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "иван"}, ["Иванов"]),
        ({"q": "анна петр"}, ["Петрова"]),
        ({"q": "0000001"}, ["Иванов"]),
        ({"q": "ivanov"}, ["Иванов"]),
        ({"kind": "staff"}, ["Management", "Сидоров"]),
        ({"has_login": "false"}, ["Петрова", "Сидоров"]),
        ({"has_login": "true"}, ["Management", "Иванов"]),
        ({"ordering": "-name"}, ["Сидоров", "Петрова", "Иванов", "Management"]),
    ],
)
def test_the_list_filters(admin_client, staff, params, expected):
    assert listed(admin_client.get(LIST, params)) == expected


def test_the_list_filters_by_profession_and_branch(admin_client, staff):
    assert listed(admin_client.get(LIST, {"profession": staff["surgeon"].pk})) == ["Петрова"]
    assert listed(admin_client.get(LIST, {"branch": staff["other_branch"].pk})) == [
        "Петрова",
        "Сидоров",
    ]


def test_an_htmx_filter_request_gets_only_the_results(admin_client, staff):
    response = admin_client.get(LIST, {"q": "иван"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="staff-results">')
    assert "<html" not in html
    assert "Иванов" in html and "Петрова" not in html


def test_the_list_is_paginated(admin_client, branch):
    EmployeeFactory.create_batch(30, branches=[branch])
    first = admin_client.get(LIST)
    assert len(listed(first)) == 25
    assert len(listed(admin_client.get(LIST, {"page": 2}))) == 6
    assert len(listed(admin_client.get(LIST, {"per_page": 10}))) == 10


def test_csv_export_follows_the_filters(admin_client, staff):
    response = admin_client.get(LIST, {"branch": staff["other_branch"].pk, "export": "csv"})
    assert response["Content-Disposition"].startswith('attachment; filename="staff-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert len(rows[0]) == 7
    assert [row[0] for row in rows[1:]] == ["Петрова Анна Петрович", "Сидоров Семён Петрович"]
    assert rows[2][3] == "Главный филиал, Екатеринбург"


def test_xlsx_export_has_one_row_per_employee(admin_client, staff):
    response = admin_client.get(LIST, {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 4
    ivanov = next(row for row in rows if row[0].startswith("Иванов"))
    assert ivanov[2] == "Терапевт"
    assert ivanov[4] == "+79120000001"
    assert ivanov[6] == "ivanov"


def test_the_list_runs_the_same_number_of_queries_for_5_or_30_employees(
    admin_client, branch, therapist, django_assert_num_queries
):
    def add(count: int) -> None:
        for _i in range(count):
            EmployeeFactory(branches=[branch], professions=[therapist], user=UserFactory())

    add(4)  # and the admin: 5
    admin_client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        assert len(listed(admin_client.get(LIST))) == 5
    add(25)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(listed(admin_client.get(LIST))) == 25


def test_the_list_needs_the_staff_view_right(registrar_client):
    assert registrar_client.get(LIST).status_code == 403
    response = Client().get(LIST)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


# --- Rights escalation -------------------------------------------------------------------


@pytest.fixture
def rights_manager(client, branch):
    """Someone who manages staff and rights but holds few rights themselves."""
    group = RightsGroupFactory(rights=["home_view", "staff_view", "staff_change", "staff_rights"])
    manager = EmployeeFactory(user=UserFactory(username="manager"), branches=[branch])
    manager.user.groups.set([group.group])
    client.force_login(manager.user)
    return manager


@pytest.fixture
def superuser_employee(branch):
    user = UserFactory(username="root", is_superuser=True, is_staff=True)
    user.set_password("Original-secret-42")
    user.save()
    return EmployeeFactory(user=user, last_name="Суперов", branches=[branch])


def test_a_rights_manager_cannot_reset_a_superusers_password(
    client, rights_manager, superuser_employee
):
    url = reverse("clinic:employee-login", args=[superuser_employee.pk])
    assert client.get(url).status_code == 403
    response = client.post(url, {"username": "root", "password": "Taken-over-123"})
    assert response.status_code == 403
    superuser_employee.user.refresh_from_db()
    assert superuser_employee.user.check_password("Original-secret-42")


@pytest.mark.parametrize("name", ["employee-update", "employee-rights", "employee-delete"])
def test_a_rights_manager_cannot_change_or_deactivate_a_superuser(
    client, rights_manager, superuser_employee, name
):
    url = reverse(f"clinic:{name}", args=[superuser_employee.pk])
    response = client.post(url, {"employee-last_name": "Взломов", "rights": ["home_view"]})
    assert response.status_code == 403
    superuser_employee.refresh_from_db()
    superuser_employee.user.refresh_from_db()
    assert superuser_employee.last_name == "Суперов"
    assert superuser_employee.deleted_at is None
    assert superuser_employee.user.is_active


def test_the_superusers_card_offers_no_changes_to_a_rights_manager(
    client, rights_manager, superuser_employee
):
    response = client.get(reverse("clinic:employee-detail", args=[superuser_employee.pk]))
    assert response.status_code == 200
    assert reverse("clinic:employee-login", args=[superuser_employee.pk]) not in response.text


def test_a_superuser_may_change_another_superuser(admin_client, superuser_employee):
    response = admin_client.post(
        reverse("clinic:employee-login", args=[superuser_employee.pk]),
        {"username": "root", "password": "New-secret-4242"},
    )
    assert response.status_code in (200, 204, 302)
    superuser_employee.user.refresh_from_db()
    assert superuser_employee.user.check_password("New-secret-4242")


def test_nobody_grants_an_individual_right_they_do_not_hold(client, rights_manager, registrar):
    response = client.post(
        reverse("clinic:employee-rights", args=[registrar.employee.pk]),
        {"rights": ["staff_view", "reports_view"]},
    )
    assert response.status_code == 422
    assert "reports_view" not in set(
        registrar.user.user_permissions.values_list("codename", flat=True)
    )
    assert "rights" in response.context["form"].errors


def test_a_rights_manager_may_grant_what_they_hold(client, rights_manager, registrar):
    response = client.post(
        reverse("clinic:employee-rights", args=[registrar.employee.pk]), {"rights": ["staff_view"]}
    )
    assert response.status_code in (200, 204, 302)
    assert set(registrar.user.user_permissions.values_list("codename", flat=True)) == {"staff_view"}


def test_nobody_grants_themselves_a_right_they_do_not_hold(client, rights_manager):
    client.post(
        reverse("clinic:employee-rights", args=[rights_manager.pk]),
        {"rights": ["settings_change"]},
    )
    assert not rights_manager.user.user_permissions.exists()


def test_a_rights_group_with_rights_the_manager_lacks_cannot_be_assigned(
    client, rights_manager, registrar
):
    powerful = RightsGroupFactory(rights=["home_view", "settings_change"])
    response = client.post(
        reverse("clinic:employee-login", args=[registrar.employee.pk]),
        {"username": registrar.user.username, "rights_groups": [powerful.pk]},
    )
    assert response.status_code == 422
    assert not registrar.user.groups.filter(pk=powerful.group.pk).exists()


def test_a_rights_group_cannot_be_given_rights_its_editor_lacks(client, rights_manager):
    response = client.post(
        reverse("clinic:rights-group-create"),
        {"name": "Все права", "rights": ["staff_view", "settings_change"]},
    )
    assert response.status_code == 422
    assert not RightsGroup.objects.filter(group__name="Все права").exists()
    group = RightsGroupFactory(rights=["home_view"])
    response = client.post(
        reverse("clinic:rights-group-update", args=[group.pk]),
        {"name": group.group.name, "rights": ["home_view", "reports_view"]},
    )
    assert response.status_code == 422
    assert set(group.group.permissions.values_list("codename", flat=True)) == {"home_view"}


def test_a_rights_group_keeps_rights_its_editor_lacks_when_edited(client, rights_manager):
    """Keeping what a group already grants is not granting: only additions are checked."""
    group = RightsGroupFactory(rights=["home_view", "reports_view"])
    response = client.post(
        reverse("clinic:rights-group-update", args=[group.pk]),
        {"name": "Отчёты", "rights": ["home_view", "reports_view", "staff_view"]},
    )
    assert response.status_code in (200, 204, 302)
    assert set(group.group.permissions.values_list("codename", flat=True)) == {
        "home_view",
        "reports_view",
        "staff_view",
    }
