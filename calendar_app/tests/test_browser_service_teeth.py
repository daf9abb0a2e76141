"""Booking a service on teeth in the dialog: picking a per-tooth service adds a field for
its teeth, and the visit gets a line per tooth."""

import pytest
from playwright.sync_api import expect

from calendar_app.models import Appointment
from clinic.testing_browser import ConsoleWatcher, screenshot
from patients.tests.factories import PatientFactory

from .factories import ServiceFactory
from .test_browser_booking_refused import pick_patient
from .test_browser_calendar import cell, drag, front_desk, open_calendar  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def pick_service(page, form, name: str) -> None:
    form.locator("select[data-service-picker]").locator(
        "xpath=following-sibling::div[contains(@class,'ts-wrapper')]"
    ).locator(".ts-control").click()
    page.keyboard.type(name, delay=30)
    page.click(f".ts-dropdown .option:has-text('{name}')")
    page.keyboard.press("Escape")


def test_a_filling_on_two_teeth_is_booked_as_two_lines(
    page,
    asgi_live_server,
    front_desk,  # noqa: F811
):
    ServiceFactory(name="Пломба светоотверждаемая", per_tooth=True)
    ServiceFactory(name="Осмотр первичный")
    PatientFactory(last_name="Зубова", first_name="Анна")
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    open_calendar(page, asgi_live_server, front_desk)

    drag(page, cell(page, "Кресло 1", 11), cell(page, "Кресло 1", 12))
    form = page.locator("[data-booking-form]")
    expect(form).to_be_visible()
    pick_patient(page, "Зубова")
    pick_service(page, form, "Осмотр первичный")
    expect(form.locator("[data-teeth-row]")).to_have_count(0)
    pick_service(page, form, "Пломба светоотверждаемая")
    teeth = form.locator("[data-teeth-row] input")
    expect(teeth).to_have_count(1)
    teeth.fill("36, 46")
    screenshot(page, "booking-teeth")
    form.locator("[data-booking-save]").click()
    page.wait_for_selector("[data-kind=appointment]:has-text('Зубова')")

    booked = Appointment.objects.get(patient__last_name="Зубова")
    lines = sorted((line.service.name, line.tooth or 0) for line in booked.service_lines.all())
    assert lines == [
        ("Осмотр первичный", 0),
        ("Пломба светоотверждаемая", 36),
        ("Пломба светоотверждаемая", 46),
    ]
    assert watcher.errors == []
