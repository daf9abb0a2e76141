"""In production (DEBUG off, as in every test) each error of the API is JSON ``{"detail"}``:
the ones django-ninja writes, Django's own exceptions raised inside an operation, a URL no
operation matches, a method not allowed and an unexpected 500."""

import logging

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.signals import got_request_exception
from django.test import Client

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.fixture
def api_client(admin_persona, settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin_persona.user)
    return client


def _slots(client, branch):
    return client.get(
        "/api/v1/slots",
        {"branch": branch.pk, "duration": 30, "date_from": "2026-12-01", "date_to": "2026-12-01"},
    )


def _fail_with(monkeypatch, exc: Exception) -> None:
    def find_slots(**kwargs):
        raise exc

    monkeypatch.setattr("calendar_app.api.find_slots", find_slots)


def test_an_unexpected_error_is_a_json_500_and_is_still_logged(
    api_client, branch, monkeypatch, caplog
):
    _fail_with(monkeypatch, RuntimeError("boom"))
    signalled = []

    def receiver(sender, request, **kwargs):
        signalled.append(request.path)

    got_request_exception.connect(receiver)
    try:
        with caplog.at_level(logging.ERROR, logger="django.request"):
            response = _slots(api_client, branch)
    finally:
        got_request_exception.disconnect(receiver)
    assert response.status_code == 500
    assert response["Content-Type"].startswith(JSON)
    assert response.json() == {"detail": "Internal server error; it has been logged."}
    assert signalled == ["/api/v1/slots"]
    assert any(record.exc_info and "boom" in str(record.exc_info[1]) for record in caplog.records)


@pytest.mark.parametrize(
    ("exc", "status", "detail"),
    [
        (PermissionDenied(), 403, "You do not have the right to do this."),
        (ValidationError("The chair is taken."), 422, "The chair is taken."),
    ],
)
def test_djangos_exceptions_inside_an_operation_answer_json(
    api_client, branch, monkeypatch, exc, status, detail
):
    _fail_with(monkeypatch, exc)
    response = _slots(api_client, branch)
    assert response.status_code == status
    assert response["Content-Type"].startswith(JSON)
    assert response.json() == {"detail": detail}


def test_a_url_no_operation_matches_is_a_json_404(api_client):
    response = api_client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith(JSON)
    assert response.json() == {"detail": "Not found."}
    assert api_client.get("/api/v2/branches").json() == {"detail": "Not found."}


def test_a_method_not_allowed_is_json_and_keeps_its_allow_header(api_client):
    response = api_client.delete("/api/v1/branches")
    assert response.status_code == 405
    assert response["Content-Type"].startswith(JSON)
    assert response["Allow"] == "GET"
    assert response.json() == {"detail": "This method is not allowed here."}


def test_ninjas_own_errors_stay_json(api_client, branch, client):
    assert api_client.get("/api/v1/slots").status_code == 422
    assert api_client.get("/api/v1/slots")["Content-Type"].startswith(JSON)
    anonymous = client.get("/api/v1/branches")
    assert anonymous.status_code == 401 and anonymous["Content-Type"].startswith(JSON)


def test_a_request_django_refuses_before_the_view_is_json(api_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    response = api_client.get("/api/v1/branches?a=1&b=2&c=3&d=4")
    assert response.status_code == 400
    assert response.json() == {"detail": "Bad request."}


def test_pages_outside_the_api_keep_their_html_error_pages(api_client):
    response = api_client.get("/patients/999999999/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_with_debug_on_the_developer_keeps_the_debugging_page(api_client, settings):
    settings.DEBUG = True
    response = api_client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
