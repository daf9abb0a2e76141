"""Every page of the patients app sends an anonymous visitor to the login page, and answers
403 to an employee without the right (each module's own tests check the rights in depth)."""

import pytest
from django.urls import reverse

from patients.tests.factories import PatientFactory, PatientImportFactory

pytestmark = pytest.mark.django_db

ROUTES = [
    ("list", None, "get"),
    ("quick-search", None, "get"),
    ("create", None, "get"),
    ("duplicates", None, "get"),
    ("import", None, "get"),
    ("import-template", None, "get"),
    ("import-detail", "job", "get"),
    ("import-confirm", "job", "post"),
    ("import-cancel", "job", "post"),
    ("import-resume", "job", "post"),
    ("import-give-up", "job", "post"),
    ("card", "patient", "get"),
    ("profile-edit", "patient", "get"),
    ("info-edit", "patient", "get"),
    ("delete", "patient", "post"),
    ("family-create", "patient", "get"),
    ("family-join", "patient", "get"),
    ("family-leave", "patient", "post"),
    ("portal-activate", "patient", "get"),
    ("portal-deactivate", "patient", "post"),
    ("section", "section", "get"),
]


def url_for(name: str, arg: str | None, media_root) -> str:
    if arg == "patient":
        return reverse(f"patients:{name}", args=[PatientFactory().pk])
    if arg == "section":
        return reverse("patients:section", args=[PatientFactory().pk, "diagnostics"])
    if arg == "job":
        return reverse(f"patients:{name}", args=[PatientImportFactory().pk])
    return reverse(f"patients:{name}")


@pytest.mark.parametrize(("name", "arg", "method"), ROUTES)
def test_an_anonymous_visitor_is_sent_to_log_in(client, media_root, name, arg, method):
    url = url_for(name, arg, media_root)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize(("name", "arg", "method"), ROUTES)
def test_an_employee_without_the_patients_right_is_refused(
    outsider_client, media_root, name, arg, method
):
    url = url_for(name, arg, media_root)
    assert getattr(outsider_client, method)(url).status_code == 403
