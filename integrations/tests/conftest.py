import uuid

import pytest

from integrations.fakes import FakeServer


@pytest.fixture
def fake_server():
    """A fake provider on loopback (``FakeServer`` answers 200 with the path it was asked)."""
    with FakeServer() as fake:
        yield fake


@pytest.fixture
def limiter_key():
    """A rate limiter key of this test only, so tests never share a window in Redis."""
    return f"test:{uuid.uuid4().hex}"
