"""The Diagnostics tab with the mouse: select two teeth, set caries on them, see them drawn
on the chart and listed, without a page load."""

import pytest
from playwright.sync_api import expect

from clinic import testing
from clinic.testing_browser import ConsoleWatcher, log_in, screenshot
from clinical.models import ToothRecord
from patients.tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_set_caries_on_two_teeth(page, asgi_live_server):
    testing.make_persona("doctor", testing.main_branch(), password="doctor")
    patient = PatientFactory()
    page.set_viewport_size({"width": 1280, "height": 900})
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    log_in(page, asgi_live_server, "doctor", "doctor")
    page.goto(f"{asgi_live_server.url}/patients/{patient.pk}/diagnostics/")
    chart = page.locator("[data-dental-chart]")
    expect(chart.locator("[data-chart-empty]")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")

    chart.locator("[data-tooth='16']").click()
    chart.locator("[data-tooth='26']").click()
    expect(chart.locator("[data-tooth='16'] input")).to_be_checked()
    expect(chart.locator("[data-tooth='26'] input")).to_be_checked()
    chart.locator("[data-chart-fields] .ts-control").first.click()
    page.keyboard.type("K02.1")
    page.locator(".ts-dropdown .option", has_text="Кариес дентина").first.click()
    chart.locator("select[name=state]").select_option("caries")
    chart.locator("[data-chart-submit]").click()

    expect(chart.locator("[data-tooth='16']")).to_have_attribute("data-state", "caries")
    expect(chart.locator("[data-tooth='26']")).to_have_attribute("data-state", "caries")
    expect(chart.locator("[data-tooth='11']")).to_have_attribute("data-state", "")
    rows = chart.locator("[data-chart-list] [data-record]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("K02.1")
    assert sorted(ToothRecord.objects.values_list("tooth", "diagnosis__code")) == [
        (16, "K02.1"),
        (26, "K02.1"),
    ]
    assert page.evaluate("window.stillTheSamePage === true")
    screenshot(page, "clinical-chart-caries-1280")

    rows.first.locator("[data-record-remove]").click()
    page.locator("#app-confirm [data-confirm-ok]").click()
    expect(rows).to_have_count(1)
    expect(chart.locator("[data-tooth='16']")).to_have_attribute("data-state", "")
    assert ToothRecord.objects.filter(removed_at__isnull=True).count() == 1

    chart.locator("[data-dentition-switch='mixed']").click()
    expect(chart.locator("[data-tooth='55']")).to_be_visible()
    expect(chart.locator("[data-tooth='26']")).to_have_attribute("data-state", "caries")
    page.set_viewport_size({"width": 1024, "height": 900})
    screenshot(page, "clinical-chart-mixed-1024")

    chart.locator("[data-chart-select='lower']").click()
    expect(chart.locator("input.dental-check:checked")).to_have_count(26)
    chart.locator("[data-chart-select='none']").click()
    expect(chart.locator("input.dental-check:checked")).to_have_count(0)
    assert watcher.errors == []
