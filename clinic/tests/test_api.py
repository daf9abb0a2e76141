"""The JSON API at /api/v1/: session authentication, /me, /branches, the schema."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from clinic.models import Chair
from clinic.services import object_soft_delete
from clinic.tests.factories import ChairFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/branches"])
def test_anonymous_requests_are_unauthorized(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")


def test_me_describes_the_signed_in_employee(doctor_client, doctor):
    response = doctor_client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json() == {
        "id": doctor.user.pk,
        "username": "doctor",
        "full_name": doctor.employee.full_name,
        "employee_id": doctor.employee.pk,
        "is_doctor": True,
    }


def test_me_works_for_a_login_without_an_employee_record(client):
    user = UserFactory(first_name="Служебный", last_name="Вход")
    client.force_login(user)
    body = client.get("/api/v1/me").json()
    assert body["employee_id"] is None
    assert body["full_name"] == "Служебный Вход"
    assert body["is_doctor"] is False


def test_branches_lists_only_the_users_branches_with_live_chairs_in_order(
    doctor_client, admin_persona, branch, branch_elsewhere
):
    second = ChairFactory(branch=branch, name="Второе", position=2)
    first = ChairFactory(branch=branch, name="Первое", position=1)
    gone = ChairFactory(branch=branch, name="Списанное", position=0)
    ChairFactory(branch=branch_elsewhere, name="Чужое")
    object_soft_delete(obj=gone, by=admin_persona.user)

    response = doctor_client.get("/api/v1/branches")
    assert response.status_code == 200
    (only,) = response.json()
    assert only["id"] == branch.pk
    assert only["time_zone"] == branch.time_zone
    assert only["opens_at"] == "09:00:00"
    assert [chair["id"] for chair in only["chairs"]] == [first.pk, second.pk]
    assert Chair.all_objects.filter(branch=branch).count() == 3


def test_a_superuser_gets_every_branch(admin_client, branch, branch_elsewhere):
    ids = {b["id"] for b in admin_client.get("/api/v1/branches").json()}
    assert ids == {branch.pk, branch_elsewhere.pk}


def test_the_branch_list_runs_as_many_queries_for_10_chairs_as_for_1(
    admin_client, branch, branch_elsewhere, django_assert_num_queries
):
    ChairFactory(branch=branch)
    admin_client.get("/api/v1/branches")
    with CaptureQueriesContext(connection) as few:
        admin_client.get("/api/v1/branches")
    ChairFactory.create_batch(5, branch=branch)
    ChairFactory.create_batch(4, branch=branch_elsewhere)
    with django_assert_num_queries(len(few.captured_queries)):
        body = admin_client.get("/api/v1/branches").json()
    assert sum(len(b["chairs"]) for b in body) == 10


def test_the_openapi_schema_lists_the_operations_for_signed_in_users(doctor_client):
    response = doctor_client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Odonta API"
    assert {"/api/v1/me", "/api/v1/branches"} <= set(schema["paths"])
    assert "get" in schema["paths"]["/api/v1/me"]


def test_the_schema_and_docs_are_not_public(client):
    assert client.get("/api/v1/openapi.json").status_code == 302
    assert client.get("/api/v1/docs").status_code == 302


def test_writes_through_the_api_would_need_a_csrf_token():
    """No operation writes yet; the session authentication every one inherits checks CSRF."""
    from ninja.security import SessionAuth

    from config.api import api

    (auth,) = api.auth
    assert isinstance(auth, SessionAuth)
    assert auth.csrf is True


def test_a_session_without_csrf_still_reads(doctor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(doctor.user)
    assert client.get("/api/v1/me").status_code == 200
