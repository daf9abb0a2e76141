"""The periodontal chart by keyboard alone: the cursor starts on the first site, each digit
fills a site and walks on (skipping a missing tooth), "+" makes 10-15 mm, B marks bleeding,
Ctrl+Enter saves; then the exam, the card's tab and a comparison with a later exam."""

import datetime

import pytest
from playwright.sync_api import expect

from clinic import testing
from clinic.testing_browser import ConsoleWatcher, log_in, screenshot
from clinical import perio, services
from clinical.models import PerioExam
from patients.tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_enter_an_exam_by_keyboard_and_compare(page, asgi_live_server):
    persona = testing.make_persona("doctor", testing.main_branch(), password="doctor")
    patient = PatientFactory()
    services.chart_records_add(patient=patient, teeth_numbers=[18], state="missing", by=None)
    page.set_viewport_size({"width": 1280, "height": 900})
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    log_in(page, asgi_live_server, "doctor", "doctor")
    page.goto(f"{asgi_live_server.url}/patients/{patient.pk}/perio/")
    page.locator("[data-perio-new]").click()

    grid = page.locator("[data-perio-grid]")
    # 18 is missing on the chart: the cursor starts on 17's distobuccal site.
    expect(grid.locator("input[data-name='pd-17-0']")).to_be_focused()
    expect(grid.locator("input[data-name='pd-18-0']")).to_be_disabled()
    # Upper buccal, 17 → 28: 15 teeth, three digits each.
    page.keyboard.type("323" * 14 + "32")
    page.keyboard.type("+2")  # 28's distobuccal site (the last of the row): 12 mm
    page.keyboard.press("KeyB")  # it bleeds
    # The walk turned to the palatal side at 28 and goes back: distopalatal first.
    expect(grid.locator("input[data-name='pd-28-3']")).to_be_focused()
    page.keyboard.type("4")
    page.keyboard.press("KeyB")
    expect(grid.locator("input[data-name='pd-17-0']")).to_have_value("3")
    expect(grid.locator("input[data-name='pd-11-1']")).to_have_value("2")
    expect(grid.locator("input[data-name='pd-28-0']")).to_have_value("12")
    expect(grid.locator("[data-cal='28-0']")).to_have_text("12")
    expect(grid.locator("input[data-flag='bop'][data-site='28-0']")).to_be_checked()
    expect(grid.locator("input[data-flag='bop'][data-site='28-3']")).to_be_checked()
    # A wrong digit is taken back with Backspace.
    page.keyboard.type("9")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    expect(grid.locator("input[data-name='pd-28-4']")).to_have_value("")
    screenshot(page, "clinical-perio-entry-1280")
    page.keyboard.press("Control+Enter")

    page.wait_for_url(f"{asgi_live_server.url}/clinical/perio/*/")
    exam = PerioExam.objects.get(patient=patient)
    assert exam.missing == [18]
    assert exam.measurements["17"]["pd"][:3] == [3, 2, 3]
    assert exam.measurements["28"]["pd"] == [12, 2, 3, 4, None, None]
    assert exam.measurements["28"]["bop"] == [True, False, False, True, False, False]
    assert exam.doctor == persona.employee
    assert len(exam.measurements) == 15
    expect(page.locator("[data-perio-summary]")).to_contain_text("46")
    screenshot(page, "clinical-perio-exam-1280")

    later = perio.perio_exam_create(
        patient=patient,
        data={
            "doctor": persona.employee,
            "examined_on": exam.examined_on + datetime.timedelta(days=1),
            "measurements": {
                **exam.measurements,
                "17": {**exam.measurements["17"], "pd": [6, 2, 3, None, None, None]},
            },
            "missing": [18],
        },
        by=persona.user,
    )
    page.goto(f"{asgi_live_server.url}/patients/{patient.pk}/perio/")
    expect(page.locator("[data-perio-exam]")).to_have_count(2)
    page.locator("[data-perio-compare-last]").click()
    expect(page.locator("[data-perio-worse='17-0']").first).to_be_visible()
    assert later.pk != exam.pk
    screenshot(page, "clinical-perio-compare-1280")
    assert watcher.errors == []
