"""Schemathesis over the API's own schema (``/api/v1/openapi.json``): every operation, with
valid and invalid parameters generated from the schema (dates from year 1 to 9999, integers
of any size, any text), called in-process through Django's WSGI handler with a superuser's
session. No answer may be a 5xx, and every error is JSON.

A new API operation is covered the moment it is routed. The examples are bounded, so the
run takes seconds; a failure names the operation and prints the case that reproduces it.
"""

import contextlib

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from calendar_app.tests.factories import ServiceFactory
from clinic.testing_urls import build_world

EXAMPLES_PER_OPERATION = 60


@pytest.fixture
def signed_in(db, admin_persona, branch, tmp_path, settings):
    """A superuser's test client, and a world for the operations to find things in."""
    settings.MEDIA_ROOT = tmp_path
    build_world(branch, tmp_path)
    ServiceFactory()
    client = Client()
    client.force_login(admin_persona.user)
    return client


@contextlib.contextmanager
def connection_kept_open():
    """As Django's test client does around a request: the handler must not close the test's
    connection, whose transaction holds the test's data. (The test client reconnects the
    handler when it is done, so no request of it may run inside this block.)"""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_no_api_operation_answers_a_5xx_whatever_it_is_sent(signed_in):
    served = signed_in.get("/api/v1/openapi.json")
    assert served.status_code == 200
    schema = schemathesis.openapi.from_dict(served.json())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4
    name = django_settings.SESSION_COOKIE_NAME
    cookies = {name: signed_in.cookies[name].value}
    app = WSGIHandler()
    with connection_kept_open():
        for operation in operations:
            _fuzz(operation, app, cookies)


def _fuzz(operation, app, cookies: dict) -> None:
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def call(case):
        response = case.call(app=app, cookies=cookies)
        label = operation.label
        assert response.status_code < 500, (label, response.status_code, response.text[:300])
        if response.status_code >= 400:
            assert response.headers["content-type"][0].startswith("application/json"), label

    call()
