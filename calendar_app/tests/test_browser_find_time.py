"""The "find a time" screen with the mouse: search, click a time, book in the dialog."""

import datetime

import pytest
from playwright.sync_api import expect

from calendar_app.models import Appointment
from clinic import testing
from clinic.models import ProfessionKind
from clinic.testing_browser import ConsoleWatcher, log_in, screenshot
from clinic.tests.factories import ChairFactory, EmployeeFactory, ProfessionFactory
from patients.tests.factories import PatientFactory

from .conftest import next_monday
from .factories import ServiceFactory, WorkShiftFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def front_desk(db):
    branch = testing.main_branch()
    testing.make_persona("registrar", branch, password="registrar")
    hygienist = ProfessionFactory(name="Гигиенист", kind=ProfessionKind.DOCTOR)
    chair1 = ChairFactory(branch=branch, name="Кресло 1", position=1)
    chair2 = ChairFactory(branch=branch, name="Кресло 2", position=2)
    doctor = EmployeeFactory(
        last_name="Чистова", first_name="Анна", branches=[branch], professions=[hygienist]
    )
    other = EmployeeFactory(last_name="Хирургов", branches=[branch])
    day = next_monday()

    def at(hour, minute=0, on=day):
        return datetime.datetime.combine(on, datetime.time(hour, minute), tzinfo=branch.zone)

    for offset in (0, 1):
        on = day + datetime.timedelta(days=offset)
        WorkShiftFactory(doctor=doctor, chair=chair1, start=at(9, on=on), end=at(15, on=on))
        WorkShiftFactory(doctor=other, chair=chair2, start=at(9, on=on), end=at(15, on=on))
    return {
        "branch": branch,
        "doctor": doctor,
        "other": other,
        "hygienist": hygienist,
        "chair1": chair1,
        "day": day,
        "at": at,
        "service": ServiceFactory(name="Профессиональная гигиена", duration_minutes=45),
        "patient": PatientFactory(last_name="Веселова", first_name="Дарья"),
    }


def test_a_found_time_is_booked_from_the_screen(page, asgi_live_server, front_desk):
    # The calendar page (where the screen is opened from) needs the live updates' websocket.
    server = asgi_live_server
    watcher = ConsoleWatcher(page, server.url)
    log_in(page, server, "registrar", "registrar")
    page.goto(f"{server.url}/calendar/")
    page.click("[data-find-time-link]")
    page.wait_for_selector("[data-find-form]")
    day = front_desk["day"]
    page.fill("[name=date_from]", day.isoformat())
    page.fill("[name=date_to]", (day + datetime.timedelta(days=1)).isoformat())
    page.click("[data-field=services] .ts-control")
    page.keyboard.type("гигиена", delay=20)
    page.wait_for_selector(".ts-dropdown .option")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    expect(page.locator("[name=duration]")).to_have_attribute("placeholder", "45")
    page.select_option("[name=profession]", str(front_desk["hygienist"].pk))
    page.check("[name=part_of_day][value=morning]")
    page.click("[data-find-submit]")
    page.wait_for_selector("[data-find-results]")

    # Two days, each with the hygienist only, mornings only.
    days = page.locator("[data-find-day]")
    expect(days).to_have_count(2)
    doctor_id = str(front_desk["doctor"].pk)
    for group in page.locator("[data-find-doctor]").all():
        assert group.get_attribute("data-find-doctor") == doctor_id
    first_day = page.locator(f'[data-find-day="{day.isoformat()}"]')
    expect(first_day.locator("[data-find-time]").first).to_have_text("09:00")
    assert "Чистова" in first_day.inner_text()
    screenshot(page, "find-time-results")

    first_day.locator("[data-find-time]", has_text="09:15").click()
    page.wait_for_selector("[data-booking-form]")
    form = page.locator("[data-booking-form]")
    assert form.locator("[name=time]").input_value() == "09:15"
    assert form.locator("[name=date]").input_value() == day.isoformat()
    assert form.locator("[name=duration_minutes]").input_value() == "45"
    assert form.locator("[name=doctor]").input_value() == doctor_id
    assert form.locator("[name=chair]").input_value() == str(front_desk["chair1"].pk)
    chosen = form.locator("[name=services]").evaluate(
        "select => [...select.selectedOptions].map(o => o.value)"
    )
    assert chosen == [str(front_desk["service"].pk)]
    page.click("[data-booking-form] [data-field=patient] .ts-control")
    page.keyboard.type("Весел", delay=40)
    page.wait_for_selector(".ts-dropdown .option")
    page.keyboard.press("Enter")
    screenshot(page, "find-time-booking")
    page.click("[data-booking-save]")

    # The dialog closes, and the booked time leaves the results.
    expect(page.locator("#app-dialog")).not_to_be_visible()
    expect(first_day.locator("[data-find-time]", has_text="09:15")).to_have_count(0)
    booked = Appointment.objects.get()
    assert booked.patient == front_desk["patient"] and booked.doctor == front_desk["doctor"]
    assert booked.start == front_desk["at"](9, 15) and booked.end == front_desk["at"](10)
    assert [line.service for line in booked.service_lines.all()] == [front_desk["service"]]
    assert watcher.errors == []


def test_opened_for_a_patient_the_screen_names_them_and_the_dialog_has_them(
    page, live_server, front_desk
):
    patient = front_desk["patient"]
    log_in(page, live_server, "registrar", "registrar")
    day = front_desk["day"].isoformat()
    page.goto(
        f"{live_server.url}/calendar/find/?patient={patient.pk}&duration=30"
        f"&doctor={front_desk['other'].pk}&date_from={day}&date_to={day}"
    )
    expect(page.locator(f'[data-find-patient="{patient.pk}"]')).to_contain_text("Веселова")
    page.locator("[data-find-time]").first.click()
    page.wait_for_selector("[data-booking-form]")
    assert page.locator("[data-booking-form] [name=patient]").input_value() == str(patient.pk)
