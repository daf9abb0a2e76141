import pytest

from clinic import preferences


@pytest.fixture(autouse=True)
def english(settings):
    """These tests read the English messages: the project's default language is Russian."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def auto_distribute(db, admin_persona):
    preferences.preferences_set(values={"billing.auto_distribute": True}, by=admin_persona.user)
    yield
    preferences.preferences_set(values={"billing.auto_distribute": False}, by=admin_persona.user)


@pytest.fixture
def family_shared(db, admin_persona):
    preferences.preferences_set(
        values={"billing.family_shared_deposit": True}, by=admin_persona.user
    )
