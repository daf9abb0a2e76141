"""The front desk in Chromium: find a demo patient from the top bar, open the card, add a
new patient whose phone is taken and decide after seeing the duplicate warning."""

import re

import pytest
from playwright.sync_api import expect

from clinic import testing
from clinic.testing_browser import ConsoleWatcher, log_in, screenshot
from patients.demo import seed_patients
from patients.models import Patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def front_desk(db):
    branch = testing.main_branch()
    registrar = testing.make_persona("registrar", branch, password="registrar")
    testing.make_persona("doctor", branch)  # the demo gives patients attending doctors
    seed_patients(lambda line: None, count=60)
    return registrar


def test_registrar_finds_a_demo_patient_from_the_top_bar_and_opens_the_card(
    page, asgi_live_server, front_desk
):
    patient = Patient.objects.order_by("card_number")[7]
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    log_in(page, asgi_live_server, "registrar", "registrar")

    fragment = patient.last_name[1:5].lower()
    page.fill("[data-global-search]", fragment)
    result = page.locator(f'[data-quick-result="{patient.pk}"]')
    expect(result).to_be_visible()
    expect(result).to_contain_text(patient.full_name)
    screenshot(page, "patients-quick-search")

    result.click()
    page.wait_for_url(f"{asgi_live_server.url}{patient.get_absolute_url()}")
    expect(page.locator("[data-patient-name]")).to_have_text(patient.full_name)
    expect(page.locator("[data-card-number]")).to_contain_text(str(patient.card_number))
    screenshot(page, "patients-card")
    assert watcher.errors == []


def test_registrar_adds_a_patient_with_a_taken_phone_after_the_duplicate_warning(
    page, asgi_live_server, front_desk
):
    existing = Patient.objects.order_by("card_number")[3]
    digits = existing.phone[2:]  # +7 9XX XXX-XX-XX typed the Russian way: 8 9XX ...
    typed_phone = f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}"
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    log_in(page, asgi_live_server, "registrar", "registrar")
    page.goto(f"{asgi_live_server.url}/patients/")

    page.click("[data-add-patient]")
    form = page.locator("dialog[open] [data-patient-form]")
    expect(form).to_be_visible()
    form.locator("[name=patient-last_name]").fill("Новикова")
    form.locator("[name=patient-first_name]").fill("Алиса")
    form.locator("[name=patient-middle_name]").fill("Игоревна")
    form.locator("[name=patient-phone]").fill(typed_phone)
    form.locator("[data-save-patient]").click()

    warning = page.locator("dialog[open] [data-duplicate-warning]")
    expect(warning).to_be_visible()
    link = warning.locator(f'[data-duplicate-link="{existing.pk}"]')
    expect(link).to_have_attribute("href", existing.get_absolute_url())
    expect(link).to_have_text(existing.full_name)
    screenshot(page, "patients-duplicate-warning")
    assert not Patient.objects.filter(last_name="Новикова").exists()

    page.locator("dialog[open] [data-save-patient]").click()
    page.wait_for_url(re.compile(rf"{re.escape(asgi_live_server.url)}/patients/\d+/$"))
    created = Patient.objects.get(last_name="Новикова")
    assert page.url == f"{asgi_live_server.url}{created.get_absolute_url()}"
    assert created.phone == existing.phone
    expect(page.locator("[data-patient-name]")).to_have_text("Новикова Алиса Игоревна")
    screenshot(page, "patients-new-card")
    assert watcher.errors == []


def test_a_failed_top_bar_search_says_so_instead_of_nobody_found(
    page, asgi_live_server, front_desk
):
    patient = Patient.objects.order_by("card_number")[7]
    log_in(page, asgi_live_server, "registrar", "registrar")
    results = page.locator("#global-search-results")
    searches = "**/patients/search/?**"

    page.route(searches, lambda route: route.fulfill(status=500, body="Server Error"))
    page.fill("[data-global-search]", patient.last_name[:4])
    failed = results.locator("[data-search-failed]")
    expect(failed).to_be_visible()
    expect(failed).not_to_have_text("")
    expect(results.locator("[data-quick-result]")).to_have_count(0)
    # Said in place, so no second message in a toast.
    expect(page.locator("#app-toasts .alert-danger")).to_have_count(0)
    screenshot(page, "patients-quick-search-failed")

    page.unroute(searches)
    page.route(searches, lambda route: route.abort())
    with page.expect_event("requestfailed", lambda r: "/patients/search/" in r.url):
        page.fill("[data-global-search]", patient.last_name[:5])
    expect(failed).to_be_visible()

    page.unroute(searches)
    page.fill("[data-global-search]", patient.full_name)
    expect(results.locator(f'[data-quick-result="{patient.pk}"]')).to_be_visible()
    expect(failed).to_have_count(0)
