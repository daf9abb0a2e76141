import pytest

from clinical.icd10 import load_icd10
from clinical.models import Diagnosis, DiagnosisCategory


@pytest.fixture(autouse=True)
def icd10(request):
    """The ICD-10 list the data migration loads: a transactional test's flush empties it,
    and a database reused after one keeps it empty, so it is loaded again (idempotently)."""
    if request.node.get_closest_marker("django_db"):
        request.getfixturevalue("_django_db_helper")
        load_icd10(DiagnosisCategory, Diagnosis)


@pytest.fixture(autouse=True)
def english(settings):
    """These tests read the English messages: the project's default language is Russian."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
