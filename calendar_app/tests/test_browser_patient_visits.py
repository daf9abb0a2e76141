"""The patient card's visits, with the mouse: book from the card, cancel and move a visit;
the list refreshes in place (no page load) after each."""

import pytest
from playwright.sync_api import expect

from calendar_app.models import Appointment, StatusCode
from clinic.testing_browser import ConsoleWatcher, log_in, screenshot

from .factories import AppointmentFactory
from .test_browser_calendar import front_desk  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_card(page, server, patient):
    log_in(page, server, "registrar", "registrar")
    page.goto(f"{server.url}/patients/{patient.pk}/")
    page.wait_for_selector("[data-patient-visits]")
    # Gone after a full page load: the list must refresh without one.
    page.evaluate("window.stillTheSamePage = true")


def still_the_same_page(page) -> bool:
    return page.evaluate("window.stillTheSamePage === true")


def test_book_from_the_card(page, asgi_live_server, front_desk):  # noqa: F811
    patient = front_desk["patient"]
    patient.attending_doctor = front_desk["doctor"]
    patient.save(update_fields=["attending_doctor"])
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    open_card(page, asgi_live_server, patient)
    expect(page.locator("[data-visits=upcoming] [data-visits-empty]")).to_be_visible()

    page.click("[data-book-visit]")
    form = page.locator("[data-booking-form]")
    expect(form).to_be_visible()
    expect(form.locator("[data-field=patient] .ts-control .item")).to_contain_text("Веселова")
    expect(form.locator("[name=doctor]")).to_have_value(str(front_desk["doctor"].pk))
    slot = form.locator("[data-suggestions] [data-pick-slot]").nth(2)  # 09:00, 09:15, 09:30
    expect(slot).to_have_attribute("data-time", "09:30")
    screenshot(page, "card-booking-dialog")
    slot.click()
    expect(form.locator("[name=time]")).to_have_value("09:30")
    form.locator("[data-booking-save]").click()

    row = page.locator("[data-visits=upcoming] [data-visit]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("09:30")
    expect(page.locator("#app-dialog")).not_to_be_visible()
    # The card's events show the booking without a reload.
    expect(page.locator("[data-timeline-entry='appointment.created']")).to_have_count(1)
    booked = Appointment.objects.get()
    assert booked.patient == patient and booked.start == front_desk["at"](9, 30)
    assert booked.doctor == front_desk["doctor"] and booked.chair == front_desk["chair1"]
    assert still_the_same_page(page)
    screenshot(page, "card-visit-booked")
    assert watcher.errors == []


def test_cancel_from_the_card_asks_first(page, asgi_live_server, front_desk):  # noqa: F811
    visit = AppointmentFactory(
        patient=front_desk["patient"],
        doctor=front_desk["doctor"],
        chair=front_desk["chair1"],
        start=front_desk["at"](11),
    )
    open_card(page, asgi_live_server, front_desk["patient"])
    page.click(f"[data-visit='{visit.pk}'] [data-visit-cancel]")
    form = page.locator("[data-cancel-form]")
    expect(form).to_be_visible()
    visit.refresh_from_db()
    assert visit.status == StatusCode.PLANNED  # only asked so far
    form.locator("[data-cancel-reason]").first.click()
    form.locator("[data-cancel-save]").click()

    expect(page.locator(f"[data-visits=history] [data-visit='{visit.pk}']")).to_have_attribute(
        "data-visit-status", "cancelled"
    )
    expect(page.locator("[data-visits=upcoming] [data-visit]")).to_have_count(0)
    visit.refresh_from_db()
    assert visit.status == StatusCode.CANCELLED and visit.cancel_reason
    assert still_the_same_page(page)


def test_reschedule_from_the_card(page, asgi_live_server, front_desk):  # noqa: F811
    visit = AppointmentFactory(
        patient=front_desk["patient"],
        doctor=front_desk["doctor"],
        chair=front_desk["chair1"],
        start=front_desk["at"](11),
    )
    open_card(page, asgi_live_server, front_desk["patient"])
    page.click(f"[data-visit='{visit.pk}'] [data-visit-reschedule]")
    form = page.locator("[data-reschedule-form]")
    expect(form).to_be_visible()
    slot = form.locator("[data-pick-slot][data-time='10:00']")
    slot.click()
    expect(form.locator("[name=time]")).to_have_value("10:00")
    form.locator("[data-reschedule-save]").click()

    expect(page.locator(f"[data-visit='{visit.pk}'] [data-visit-time]")).to_contain_text("10:00")
    visit.refresh_from_db()
    assert visit.start == front_desk["at"](10)
    assert still_the_same_page(page)
