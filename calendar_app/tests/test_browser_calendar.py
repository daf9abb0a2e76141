"""The calendar as the front desk uses it: with the mouse, in Chromium, over the real ASGI
application (so that the websocket of live updates is there too)."""

import datetime

import pytest
from playwright.sync_api import expect

from calendar_app.models import Appointment, StatusCode
from clinic import testing
from clinic.testing_browser import ConsoleWatcher, screenshot
from clinic.tests.factories import ChairFactory, EmployeeFactory, ProfessionFactory
from patients.tests.factories import PatientFactory

from .conftest import next_monday
from .factories import AppointmentFactory, WorkShiftFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Where on screen is (chair, minute of the day)? Ask EventCalendar, point by point.
FIND_CELL = """([title, minutes]) => {
  const box = document.querySelector('[data-calendar]').getBoundingClientRect();
  for (let x = box.left + 5; x < box.right; x += 8) {
    for (let y = box.top + 2; y < box.bottom; y += 3) {
      const p = window.odontaCalendar.dateFromPoint(x, y);
      if (p && p.resource && p.resource.title === title
          && p.date.getHours() * 60 + p.date.getMinutes() === minutes) return {x: x + 15, y: y + 3};
    }
  }
  return null;
}"""


@pytest.fixture
def front_desk(db):
    branch = testing.main_branch()
    registrar = testing.make_persona("registrar", branch, password="registrar")
    chair1 = ChairFactory(branch=branch, name="Кресло 1", position=1)
    chair2 = ChairFactory(branch=branch, name="Кресло 2", position=2)
    doctor = EmployeeFactory(
        last_name="Терапевтова",
        first_name="Анна",
        middle_name="Сергеевна",
        branches=[branch],
        professions=[ProfessionFactory(name="Терапевт")],
    )
    day = next_monday()
    zone = branch.zone

    def at(hour, minute=0):
        return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)

    WorkShiftFactory(doctor=doctor, chair=chair1, start=at(9), end=at(15))
    patient = PatientFactory(last_name="Веселова", first_name="Дарья", middle_name="Олеговна")
    return {
        "branch": branch,
        "registrar": registrar,
        "chair1": chair1,
        "chair2": chair2,
        "doctor": doctor,
        "day": day,
        "at": at,
        "patient": patient,
    }


def open_calendar(page, server, world, username="registrar", password="registrar"):
    page.goto(f"{server.url}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.click("[data-login-submit]")
    page.wait_for_url(f"{server.url}/")
    page.goto(f"{server.url}/calendar/?branch={world['branch'].pk}&date={world['day'].isoformat()}")
    page.wait_for_function(
        "window.odontaCalendar && document.querySelectorAll('.ec-resource').length"
    )
    page.wait_for_load_state("networkidle")


def cell(page, chair_title, hour, minute=0):
    point = page.evaluate(FIND_CELL, [chair_title, hour * 60 + minute])
    assert point, f"no cell for {chair_title} {hour}:{minute:02d} on screen"
    return point


def drag(page, start, end):
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    page.mouse.move((start["x"] + end["x"]) / 2, (start["y"] + end["y"]) / 2, steps=6)
    page.mouse.move(end["x"], end["y"], steps=6)
    page.mouse.up()


def test_drag_over_free_time_books_a_visit(page, asgi_live_server, front_desk):
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    open_calendar(page, asgi_live_server, front_desk)
    drag(page, cell(page, "Кресло 1", 10), cell(page, "Кресло 1", 10, 30))
    page.wait_for_selector("[data-booking-form]")
    assert page.input_value("[data-booking-form] [name=time]") == "10:00"
    page.click("[data-booking-form] [data-field=patient] .ts-control")
    page.keyboard.type("Весел", delay=40)
    page.wait_for_selector(".ts-dropdown .option")
    page.keyboard.press("Enter")
    screenshot(page, "calendar-booking-dialog")
    page.click("[data-booking-save]")
    event = page.wait_for_selector("[data-kind=appointment]")
    assert "Веселова" in event.inner_text()
    booked = Appointment.objects.get()
    assert booked.patient == front_desk["patient"] and booked.chair == front_desk["chair1"]
    assert booked.start == front_desk["at"](10) and booked.end == front_desk["at"](10, 45)
    screenshot(page, "calendar-booked")
    assert watcher.errors == []


def test_a_failed_patient_search_says_so_and_the_same_query_can_be_retried(
    page, asgi_live_server, front_desk
):
    """The picker must not answer "nobody found" when the search itself failed: on the
    quickstart every search was a 500, and the front desk added patients twice."""
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    open_calendar(page, asgi_live_server, front_desk)
    drag(page, cell(page, "Кресло 1", 10), cell(page, "Кресло 1", 10, 30))
    page.wait_for_selector("[data-booking-form]")
    failed = page.locator(".ts-dropdown [data-search-failed]")
    nobody = page.locator(".ts-dropdown .no-results:not([data-search-failed])")
    searches = "**/api/v1/patients/search**"

    # The server answers with an error.
    page.route(searches, lambda route: route.fulfill(status=500, body="Server Error"))
    page.click("[data-booking-form] [data-field=patient] .ts-control")
    page.keyboard.type("Весел", delay=40)
    expect(failed).to_be_visible()
    expect(failed).not_to_have_text("")
    expect(nobody).to_have_count(0)
    screenshot(page, "calendar-patient-search-failed")

    # The network fails.
    page.unroute(searches)
    page.route(searches, lambda route: route.abort())
    with page.expect_event("requestfailed", lambda r: "/api/v1/patients/search" in r.url):
        page.keyboard.press("Backspace")
    expect(failed).to_be_visible()
    expect(nobody).to_have_count(0)

    # The same query typed again asks the server again, and the patient is found and booked.
    page.unroute(searches)
    with page.expect_response(lambda r: "/api/v1/patients/search" in r.url and r.ok):
        page.keyboard.type("л")
    page.wait_for_selector(".ts-dropdown .option")
    expect(failed).to_have_count(0)
    page.keyboard.press("Enter")
    page.click("[data-booking-save]")
    page.wait_for_selector("[data-kind=appointment]")
    assert Appointment.objects.get().patient == front_desk["patient"]
    # The browser reports the failed requests above; anything else is a real error.
    unexpected = [
        e for e in watcher.errors if "patients/search" not in e and "Failed to load" not in e
    ]
    assert unexpected == []


def test_drag_a_visit_to_another_chair(page, asgi_live_server, front_desk):
    visit = AppointmentFactory(
        patient=front_desk["patient"],
        doctor=front_desk["doctor"],
        chair=front_desk["chair1"],
        start=front_desk["at"](11),
        end=front_desk["at"](11, 30),
    )
    open_calendar(page, asgi_live_server, front_desk)
    event = page.wait_for_selector(f"[data-kind=appointment][data-id='{visit.pk}']")
    box = event.bounding_box()
    origin = {"x": box["x"] + box["width"] / 2, "y": box["y"] + 8}
    target = cell(page, "Кресло 2", 11)
    drag(page, origin, {"x": target["x"], "y": target["y"] + 5})
    # The doctor has no shift on chair 2: the calendar asks before moving.
    page.wait_for_selector("#app-confirm[open]")
    with page.expect_response(
        lambda r: "/move/" in r.url and "allow_outside_shift" in (r.request.post_data or "")
    ) as confirmed:
        page.click("[data-confirm-ok]")
    assert confirmed.value.status == 200
    page.wait_for_function(f"""() => {{
        const e = window.odontaCalendar.getEventById('a{visit.pk}');
        return e && String(e.resourceIds[0]) === '{front_desk["chair2"].pk}';
    }}""")
    visit.refresh_from_db()
    assert visit.chair == front_desk["chair2"] and visit.start == front_desk["at"](11)


def test_a_conflicting_drop_snaps_back(page, asgi_live_server, front_desk):
    first = AppointmentFactory(
        patient=front_desk["patient"],
        doctor=front_desk["doctor"],
        chair=front_desk["chair1"],
        start=front_desk["at"](9),
        end=front_desk["at"](9, 30),
    )
    AppointmentFactory(
        patient=PatientFactory(),
        doctor=front_desk["doctor"],
        chair=front_desk["chair1"],
        start=front_desk["at"](12),
        end=front_desk["at"](12, 30),
    )
    open_calendar(page, asgi_live_server, front_desk)
    event = page.wait_for_selector(f"[data-kind=appointment][data-id='{first.pk}']")
    box = event.bounding_box()
    target = cell(page, "Кресло 1", 12)
    drag(
        page,
        {"x": box["x"] + box["width"] / 2, "y": box["y"] + 8},
        {"x": target["x"], "y": target["y"] + 5},
    )
    page.wait_for_selector(".app-toast.alert-danger")
    first.refresh_from_db()
    assert first.start == front_desk["at"](9)
    page.wait_for_function(
        f"""() => window.odontaCalendar.getEventById('a{first.pk}').start.getHours() === 9"""
    )


def test_status_from_the_context_menu(page, asgi_live_server, front_desk):
    visit = AppointmentFactory(
        patient=front_desk["patient"],
        doctor=front_desk["doctor"],
        chair=front_desk["chair1"],
        start=front_desk["at"](13),
        end=front_desk["at"](13, 30),
    )
    open_calendar(page, asgi_live_server, front_desk)
    page.click(f"[data-kind=appointment][data-id='{visit.pk}']", button="right")
    page.wait_for_selector("#calendar-menu.show")
    screenshot(page, "calendar-context-menu")
    page.click("#calendar-menu [data-status-code=arrived]")
    page.wait_for_selector(f"[data-kind=appointment][data-id='{visit.pk}'][data-status=arrived]")
    visit.refresh_from_db()
    assert visit.status == StatusCode.ARRIVED


def test_a_second_window_sees_a_booking_without_reloading(browser, asgi_live_server, front_desk):
    testing.make_admin(front_desk["branch"], password="admin")
    watcher_context = browser.new_context(locale="ru-RU", viewport={"width": 1400, "height": 900})
    booker_context = browser.new_context(locale="ru-RU", viewport={"width": 1400, "height": 900})
    watcher, booker = watcher_context.new_page(), booker_context.new_page()
    open_calendar(watcher, asgi_live_server, front_desk, "admin", "admin")
    topic = f"calendar.{front_desk['branch'].pk}.{front_desk['day'].isoformat()}"
    watcher.wait_for_function(f"() => window.Live && window.Live.subscribed.has('{topic}')")
    open_calendar(booker, asgi_live_server, front_desk)
    assert watcher.locator("[data-kind=appointment]").count() == 0
    drag(booker, cell(booker, "Кресло 1", 14), cell(booker, "Кресло 1", 14, 30))
    booker.wait_for_selector("[data-booking-form]")
    booker.click("[data-booking-form] [data-field=patient] .ts-control")
    booker.keyboard.type("Весел", delay=40)
    booker.wait_for_selector(".ts-dropdown .option")
    booker.keyboard.press("Enter")
    booker.click("[data-booking-save]")
    booker.wait_for_selector("[data-kind=appointment]")
    # The watcher did nothing: the websocket told its calendar to refresh.
    event = watcher.wait_for_selector("[data-kind=appointment]", timeout=10_000)
    assert "Веселова" in event.inner_text()
    screenshot(watcher, "calendar-live-update")
    watcher_context.close()
    booker_context.close()


def test_dragging_a_waiting_patient_onto_the_calendar_books_them(
    page, asgi_live_server, front_desk
):
    from calendar_app.models import WaitingListEntry

    entry = WaitingListEntry.objects.create(
        patient=front_desk["patient"],
        branch=front_desk["branch"],
        doctor=front_desk["doctor"],
        duration_minutes=45,
        comment="после работы",
    )
    open_calendar(page, asgi_live_server, front_desk)
    source = page.wait_for_selector(f"[data-waitlist-entry='{entry.pk}']")
    target = cell(page, "Кресло 1", 11)
    box = source.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(target["x"], target["y"], steps=12)
    page.mouse.up()
    page.wait_for_selector("[data-booking-form]")
    assert page.input_value("[data-booking-form] [name=time]") == "11:00"
    assert page.input_value("[data-booking-form] [name=duration_minutes]") == "45"
    assert page.input_value("[data-booking-form] [name=waitlist]") == str(entry.pk)
    page.click("[data-booking-save]")
    page.wait_for_selector("[data-kind=appointment]")
    entry.refresh_from_db()
    assert entry.status == "booked" and entry.appointment.start == front_desk["at"](11)
