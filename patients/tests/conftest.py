"""Fixtures of the patients tests (the personas are in the root conftest.py)."""

import pytest

from clinic.tests.factories import user_with_rights


@pytest.fixture
def outsider_client(client, branch):
    """A signed-in employee without any right on the patients module."""
    client.force_login(user_with_rights("home_view", username="outsider", branch=branch))
    return client


@pytest.fixture
def media_root(settings, tmp_path):
    """Uploads (import files) go to a temporary folder, not the checkout's media/."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"
