"""Schemathesis over the API's own schema (``/api/v1/openapi.json``): every operation, with
valid and invalid parameters generated from the schema (any integer, any text, dates from
year 1 to 9999 with the edges of the calendar half the time), called in-process through
Django's WSGI handler with a superuser's session. No answer may be a 5xx, and every error
is JSON. Now and then a parameter gets a value that passes the operation's lookups (the
sample world's branch, doctor, service; a one-day range), so that the fuzz reaches the
code behind them.

A new API operation is covered the moment it is routed. The examples are bounded (60 an
operation), so the run takes seconds; a failure prints the operation and the query.
"""

import contextlib
import datetime

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
from schemathesis.specs.openapi.formats import unregister_string_format

from calendar_app.tests.factories import ServiceFactory
from clinic.testing_urls import build_world

EXAMPLES_PER_OPERATION = 60
# Any date, but the edges of the calendar half the time: where time-zone arithmetic
# overflows, and where the project's windows begin and end.
EDGE_DATES = [
    datetime.date.min,
    datetime.date.min + datetime.timedelta(days=1),
    datetime.date.max,
    datetime.date.max - datetime.timedelta(days=1),
    datetime.date(1899, 12, 31),
    datetime.date(1900, 1, 1),
    datetime.date(2100, 12, 31),
    datetime.date(2101, 1, 1),
]
DATES = st.one_of(st.sampled_from(EDGE_DATES), st.dates()).map(datetime.date.isoformat)


@pytest.fixture
def world(db, branch, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    return {**build_world(branch, tmp_path), "service": ServiceFactory()}


@pytest.fixture
def signed_in(admin_persona, world):
    """A superuser's test client."""
    client = Client()
    client.force_login(admin_persona.user)
    return client


def good_values(world) -> dict[str, list]:
    """Values that get an operation past its lookups, by parameter name: a random integer is
    never the world's branch, so without these the fuzz would not reach the code behind."""
    doctor = world["shift"].doctor
    return {
        "branch": [world["branch"].pk],
        "doctor": [doctor.pk],
        "profession": list(doctor.professions.values_list("pk", flat=True)) or [1],
        "services": [str(world["service"].pk)],
        "duration": [30],
    }


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


def test_no_api_operation_answers_a_5xx_whatever_it_is_sent(signed_in, world):
    served = signed_in.get("/api/v1/openapi.json")
    assert served.status_code == 200
    schema = schemathesis.openapi.from_dict(served.json())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4
    name = django_settings.SESSION_COOKIE_NAME
    cookies = {name: signed_in.cookies[name].value}
    app = WSGIHandler()
    schemathesis.openapi.format("date", DATES)
    try:
        with connection_kept_open():
            for operation in operations:
                _fuzz(operation, app, cookies, good_values(world))
    finally:
        unregister_string_format("date")


def _fuzz(operation, app, cookies: dict, good: dict[str, list]) -> None:
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
    @given(case=cases, data=st.data())
    def call(case, data):
        query = case.query if isinstance(case.query, dict) else {}
        for name, choices in good.items():
            if name in operation.query and data.draw(st.booleans()):
                query[name] = data.draw(st.sampled_from(choices))
        # A range of one day, now and then: a random pair is rarely a valid range.
        if "date_from" in query and "date_to" in query and data.draw(st.booleans()):
            query["date_to"] = query["date_from"]
        response = case.call(app=app, cookies=cookies)
        label = (operation.label, case.query, response.status_code, response.text[:200])
        assert response.status_code < 500, label
        if response.status_code >= 400:
            assert response.headers["content-type"][0].startswith("application/json"), label

    call()
