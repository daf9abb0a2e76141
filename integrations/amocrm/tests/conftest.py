import pytest

from integrations.amocrm.fake import FakeAmo


@pytest.fixture
def fake_amo():
    """A started ``FakeAmo`` (defaults: 7 requests a second, webhooks delivered on call)."""
    with FakeAmo() as fake:
        yield fake
