"""The application shell: access declarations, the sidebar, branches, /healthz (uploaded
files: test_files.py)."""

import pytest
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from clinic.middleware import SESSION_KEY
from clinic.models import Branch
from clinic.modules import MODULES
from clinic.permissions import has_module_perm, login_required_view, module_required
from clinic.tests.factories import BranchFactory, EmployeeFactory, UserFactory, user_with_rights

pytestmark = pytest.mark.django_db

LOGIN = reverse("account_login")


# --- Access declarations -----------------------------------------------------------------


@module_required("staff", "view")
def staff_probe(request):
    return HttpResponse("ok")


@login_required_view
def login_probe(request):
    return HttpResponse("ok")


def call(view, user=None, **headers):
    from django.contrib.auth.models import AnonymousUser
    from django_htmx.middleware import HtmxDetails

    request = RequestFactory().get("/probe/?x=1", **headers)
    request.user = user or AnonymousUser()
    request.htmx = HtmxDetails(request)
    return view(request)


@pytest.mark.parametrize("view", [staff_probe, login_probe])
def test_anonymous_users_are_sent_to_log_in_and_back(view):
    response = call(view)
    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next=/probe/%3Fx%3D1"


@pytest.mark.parametrize("view", [staff_probe, login_probe])
def test_anonymous_htmx_requests_get_401_and_a_redirect_header(view):
    response = call(view, HTTP_HX_REQUEST="true")
    assert response.status_code == 401
    assert response["HX-Redirect"] == LOGIN


def test_a_user_without_the_right_is_forbidden_and_with_it_let_in(branch):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        call(staff_probe, user_with_rights("home_view", branch=branch))
    assert call(staff_probe, user_with_rights("staff_view", branch=branch)).content == b"ok"
    assert call(login_probe, user_with_rights(branch=branch)).content == b"ok"


def test_declared_access_is_kept_on_the_view_for_the_url_walk():
    assert (staff_probe.access.module, staff_probe.access.action) == ("staff", "view")
    assert login_probe.access.module is None and not login_probe.access.public


def test_declaring_an_unknown_module_or_action_fails_at_import_time():
    with pytest.raises(ValueError):
        module_required("no-such-module")
    with pytest.raises(ValueError):
        module_required("home", "change")


def test_an_inactive_user_has_no_module_rights(branch):
    user = user_with_rights("staff_view", branch=branch)
    assert has_module_perm(user, "staff")
    user.is_active = False
    assert not has_module_perm(user, "staff")


def test_a_forbidden_page_renders_the_403_template(registrar_client):
    response = registrar_client.get(reverse("clinic:staff-list"))
    assert response.status_code == 403
    assert "403.html" in [t.name for t in response.templates]


def test_the_browsers_favicon_request_finds_the_icon_without_logging_in(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("/img/favicon.svg")


# --- The sidebar -------------------------------------------------------------------------


def sidebar_keys(response) -> list[str]:
    return [item["module"].key for item in response.context["sidebar"]]


@pytest.mark.parametrize("persona", ["registrar", "doctor", "accountant", "coordinator"])
def test_the_sidebar_lists_only_modules_the_user_may_view(client, persona, request):
    user = request.getfixturevalue(persona).user
    client.force_login(user)
    response = client.get("/")
    expected = [m.key for m in MODULES if m.in_sidebar and user.has_perm(f"clinic.{m.key}_view")]
    assert sidebar_keys(response) == expected
    html = response.content.decode()
    for module in MODULES:
        assert (f'data-module="{module.key}"' in html) == (module.key in expected)


def test_a_superuser_sees_every_module(admin_client):
    assert sidebar_keys(admin_client.get("/")) == [m.key for m in MODULES if m.in_sidebar]


def test_the_deepest_matching_module_is_marked_active(admin_client):
    response = admin_client.get(reverse("clinic:audit"))
    active = [item["module"].key for item in response.context["sidebar"] if item["active"]]
    assert active == ["audit"]  # not "settings", whose URL is a prefix of it
    response = admin_client.get("/")
    active = [item["module"].key for item in response.context["sidebar"] if item["active"]]
    assert active == ["home"]


# --- Branches ----------------------------------------------------------------------------


def test_branches_for_a_user_are_those_of_their_employee_record(branch, branch_elsewhere):
    user = UserFactory()
    employee = EmployeeFactory(user=user, branches=[branch])
    assert list(Branch.objects.for_user(user)) == [branch]
    employee.branches.add(branch_elsewhere)
    assert set(Branch.objects.for_user(user)) == {branch, branch_elsewhere}
    assert list(Branch.objects.for_user(UserFactory())) == []


def test_a_superuser_sees_every_live_branch(admin_persona, branch, branch_elsewhere):
    closed = BranchFactory()
    Branch.all_objects.filter(pk=closed.pk).update(deleted_at="2026-01-01T00:00Z")
    assert set(Branch.objects.for_user(admin_persona.user)) == {branch, branch_elsewhere}


def test_a_deactivated_employee_has_no_branches(branch, admin_persona):
    from clinic.services import object_soft_delete

    user = UserFactory()
    employee = EmployeeFactory(user=user, branches=[branch])
    object_soft_delete(obj=employee, by=admin_persona.user)
    assert list(Branch.objects.for_user(user)) == []


@pytest.fixture
def two_branch_user(branch, branch_elsewhere):
    user = user_with_rights("home_view", branch=branch)
    user.employee.branches.add(branch_elsewhere)
    return user


def test_the_current_branch_is_the_first_one_until_another_is_picked(
    client, two_branch_user, branch, branch_elsewhere
):
    client.force_login(two_branch_user)
    response = client.get("/")
    assert response.context["current_branch"] == branch
    assert response.context["branches"] == [branch, branch_elsewhere]

    response = client.post(
        reverse("clinic:branch-switch"), {"branch": branch_elsewhere.pk, "next": "/?tab=1"}
    )
    assert response.status_code == 302
    assert response.url == "/?tab=1"
    assert client.session[SESSION_KEY] == branch_elsewhere.pk
    response = client.get("/")
    assert response.context["current_branch"] == branch_elsewhere
    assert response.wsgi_request.branch == branch_elsewhere


def test_switching_to_a_branch_of_someone_else_is_not_found(
    doctor_client, doctor, branch, branch_elsewhere
):
    response = doctor_client.post(reverse("clinic:branch-switch"), {"branch": branch_elsewhere.pk})
    assert response.status_code == 404
    assert SESSION_KEY not in doctor_client.session
    assert doctor_client.get("/").context["current_branch"] == branch


def test_a_branch_dropped_from_the_user_stops_being_current(
    client, two_branch_user, branch, branch_elsewhere
):
    client.force_login(two_branch_user)
    client.post(reverse("clinic:branch-switch"), {"branch": branch_elsewhere.pk})
    two_branch_user.employee.branches.remove(branch_elsewhere)
    assert client.get("/").context["current_branch"] == branch


def test_the_branch_switch_refuses_garbage_and_foreign_next_urls(client, two_branch_user):
    client.force_login(two_branch_user)
    response = client.post(reverse("clinic:branch-switch"), {"branch": "abc"})
    assert response.url == "/"
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["error"]
    response = client.post(
        reverse("clinic:branch-switch"),
        {"branch": two_branch_user.employee.branches.first().pk, "next": "https://evil.example/"},
    )
    assert response.url == "/"


def test_the_branch_switch_is_post_only_and_for_signed_in_users(client, two_branch_user):
    assert client.post(reverse("clinic:branch-switch"), {"branch": 1}).status_code == 302
    client.force_login(two_branch_user)
    assert client.get(reverse("clinic:branch-switch")).status_code == 405


# --- /healthz ----------------------------------------------------------------------------


def test_healthz_reports_the_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["database"], body["redis"], body["status"]) == ("ok", "ok", "ok")


def test_healthz_answers_503_when_redis_is_unreachable(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["redis"].startswith("error")
    assert body["status"] == "error"


def test_rights_are_cached_between_requests_and_a_change_works_at_once(client, registrar):
    from django.contrib.auth.models import Permission
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(registrar.user)
    assert client.get("/staff/").status_code == 403
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/staff/").status_code == 403
    assert not [q for q in captured.captured_queries if "auth_permission" in q["sql"]]
    registrar.user.user_permissions.add(Permission.objects.get(codename="staff_view"))
    assert client.get("/staff/").status_code == 200
