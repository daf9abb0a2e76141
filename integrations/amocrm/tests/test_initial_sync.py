"""The initial sync against the fake (bench/amocrm_sync.py measures it at 100,000)."""

import pytest

from integrations.amocrm.client import AmoClient

pytestmark = pytest.mark.django_db


def test_the_client_keeps_a_margin_under_amocrms_seven_requests_a_second(amo):
    with AmoClient(amo.connection) as client:
        assert client.limiter.limit == 1000  # the tests' connection
        assert client.limiter.window_ms == 1050
