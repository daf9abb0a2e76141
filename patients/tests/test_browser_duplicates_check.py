"""The live duplicate check on the new-patient form sends no CSRF token in its URL (a GET's
URL lands in server logs)."""

import pytest
from playwright.sync_api import expect

from clinic import testing
from clinic.testing_browser import log_in
from patients.tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_live_duplicate_check_url_carries_no_csrf_token(page, live_server):
    branch = testing.main_branch()
    testing.make_persona("registrar", branch, password="registrar")
    existing = PatientFactory(phone="+79161234567", branch=branch)
    log_in(page, live_server, "registrar", "registrar")
    page.goto(f"{live_server.url}/patients/")
    page.click("[data-add-patient]")
    form = page.locator("dialog[open] [data-patient-form]")
    expect(form).to_be_visible()
    form.locator("[name=patient-last_name]").fill("Новикова")
    with page.expect_request("**/patients/duplicates/**") as check:
        form.locator("[name=patient-phone]").fill("+7 916 123-45-67")
        form.locator("[name=patient-phone]").dispatch_event("change")
    url = check.value.url
    assert "patient-phone=" in url
    assert "csrfmiddlewaretoken" not in url
    expect(page.locator(f'dialog[open] [data-duplicate-link="{existing.pk}"]')).to_be_visible()
