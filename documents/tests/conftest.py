import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Printed PDFs and scans land in the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
