"""A refused booking re-renders the dialog's form (422): every widget of the new form must
work as in the first one, and the retried booking must go through."""

import pytest
from playwright.sync_api import expect

from calendar_app.models import Appointment
from clinic.testing_browser import ConsoleWatcher, screenshot
from patients.tests.factories import PatientFactory

from .factories import AppointmentFactory, ServiceFactory
from .test_browser_calendar import cell, drag, front_desk, open_calendar  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def pick_patient(page, query: str) -> None:
    page.click("[data-booking-form] [data-field=patient] .ts-control")
    page.keyboard.type(query, delay=40)
    page.wait_for_selector(".ts-dropdown .option")
    page.keyboard.press("Enter")


def test_after_a_refusal_every_widget_of_the_booking_form_works(
    page,
    asgi_live_server,
    front_desk,  # noqa: F811
):
    at = front_desk["at"]
    AppointmentFactory(
        patient=PatientFactory(last_name="Занятова"),
        doctor=front_desk["doctor"],
        chair=front_desk["chair1"],
        start=at(10),
        end=at(10, 30),
    )
    ServiceFactory(name="Чистка зубов", duration_minutes=45)
    PatientFactory(last_name="Кузнецова", first_name="Ольга", middle_name="Ивановна")
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    open_calendar(page, asgi_live_server, front_desk)

    # Book the doctor's 10:00, which is taken: typed over a free cell's time.
    drag(page, cell(page, "Кресло 1", 11), cell(page, "Кресло 1", 11, 30))
    page.wait_for_selector("[data-booking-form]")
    pick_patient(page, "Весел")
    page.fill("[data-booking-form] [name=time]", "10:00")
    with page.expect_response(lambda r: "/appointments/new/" in r.url) as refused:
        page.click("[data-booking-save]")
    assert refused.value.status == 422
    expect(page.locator("[data-booking-error]")).to_be_visible()
    screenshot(page, "booking-refused")

    form = page.locator("[data-booking-form]")
    # Set up once, and only once: one enhanced widget per select.
    expect(form.locator("select[data-patient-picker].tomselected")).to_have_count(1)
    expect(form.locator("select[data-service-picker].tomselected")).to_have_count(1)
    expect(form.locator(".ts-wrapper")).to_have_count(2)

    # The patient picker searches again.
    form.locator("[data-field=patient] .ts-control").click()
    page.keyboard.press("Backspace")
    page.keyboard.type("Кузн", delay=40)
    page.click(".ts-dropdown .option:has-text('Кузнецова')")
    expect(form.locator("[data-field=patient] .ts-control .item")).to_contain_text("Кузнецова")

    # Services are the enhanced multi-select, and their durations set the visit's.
    services = form.locator("select[data-service-picker]")
    services.locator("xpath=following-sibling::div[contains(@class,'ts-wrapper')]").locator(
        ".ts-control"
    ).click()
    page.keyboard.type("Чистка", delay=40)
    page.click(".ts-dropdown .option:has-text('Чистка зубов')")
    page.keyboard.press("Escape")
    expect(form.locator("[name=duration_minutes]")).to_have_value("45")

    # The doctor's nearest free time fills the date, the time and the chair.
    first_free = form.locator("[data-suggestions] [data-pick-slot]").first
    expect(first_free).to_have_attribute("data-time", "09:00")
    first_free.click()
    expect(form.locator("[name=time]")).to_have_value("09:00")
    expect(form.locator("[name=date]")).to_have_value(front_desk["day"].isoformat())

    page.locator("[data-booking-save]").click()
    page.wait_for_selector("[data-kind=appointment]:has-text('Кузнецова')")
    booked = Appointment.objects.get(patient__last_name="Кузнецова")
    assert booked.start == at(9) and booked.end == at(9, 45)
    assert [line.service.name for line in booked.service_lines.all()] == ["Чистка зубов"]
    # The browser reports the refusal itself; anything else is a real error.
    assert [e for e in watcher.errors if "422" not in e] == []
