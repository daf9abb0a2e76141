"""The busiest screens at the widths of the front desk's monitors, 1280 and 1024 px: nothing
sticks out of the window, nothing the user needs is cut off, and the sidebar runs the whole
height of the page. Full-page screenshots go to test-output/screenshots/layout-*.png."""

import datetime
from decimal import Decimal

import pytest

from calendar_app.models import AppointmentService, StatusCode
from calendar_app.tests.conftest import next_monday
from calendar_app.tests.factories import AppointmentFactory, ServiceFactory
from clinic import testing
from clinic.testing_browser import log_in, screenshot
from clinic.tests.factories import ChairFactory, EmployeeFactory, ProfessionFactory
from patients.tests.factories import PatientFactory
from patients.views import SECTIONS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [1280, 1024]
CHAIRS = 6
DOCTOR_NAMES = [
    ("Константинопольская", "Александра", "Вячеславовна"),
    ("Преображенский", "Максимилиан", "Святославович"),
    ("Новомосковская", "Елизавета", "Константиновна"),
    ("Белоголовцева", "Маргарита", "Владиславовна"),
    ("Дмитриевский-Орлов", "Ярослав", "Всеволодович"),
    ("Аристархова", "Евдокия", "Кирилловна"),
]
PATIENT_NAMES = [
    ("Непомнящих-Преображенская", "Екатерина", "Владиславовна"),
    ("Александровская", "Анастасия", "Станиславовна"),
    ("Великорецкий", "Константин", "Ростиславович"),
]
STATUSES = [StatusCode.PLANNED, StatusCode.CONFIRMED, StatusCode.ARRIVED, StatusCode.IN_CHAIR]


@pytest.fixture
def busy_day(db):
    """One branch with six chairs, a doctor in each, and a full day of visits by patients
    and doctors with long names, in every status that offers the doctor a button."""
    branch = testing.main_branch()
    testing.make_admin(branch, password="admin")
    profession = ProfessionFactory(name="Стоматолог-терапевт")
    service = ServiceFactory(
        name="Лечение кариеса постоянного зуба с пломбой из светоотверждаемого композита",
        price=Decimal("4500.00"),
    )
    day = next_monday()
    patients = [
        PatientFactory(last_name=a, first_name=b, middle_name=c) for a, b, c in PATIENT_NAMES
    ]
    doctors = []
    for position in range(1, CHAIRS + 1):
        chair = ChairFactory(
            branch=branch, name=f"Кресло терапевтическое {position}", position=position
        )
        last, first, middle = DOCTOR_NAMES[position - 1]
        doctor = EmployeeFactory(
            last_name=last,
            first_name=first,
            middle_name=middle,
            branches=[branch],
            professions=[profession],
        )
        doctors.append(doctor)
        for slot in range(8):
            start = datetime.datetime.combine(day, datetime.time(9 + slot), tzinfo=branch.zone)
            visit = AppointmentFactory(
                chair=chair,
                doctor=doctor,
                patient=patients[(position + slot) % len(patients)],
                start=start,
                end=start + datetime.timedelta(minutes=45),
                status=STATUSES[slot % len(STATUSES)],
            )
            AppointmentService.objects.create(
                appointment=visit, service=service, price=service.price
            )
    return {"branch": branch, "day": day, "doctor": doctors[0], "patient": patients[0]}


def open_at(page, server, width: int, path: str) -> None:
    page.set_viewport_size({"width": width, "height": 720})
    log_in(page, server, "admin", "admin")
    page.goto(f"{server.url}{path}")
    page.wait_for_load_state("networkidle")


def assert_page_fits_the_window(page) -> None:
    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width


def assert_sidebar_runs_the_page_height(page, *, long_page: bool) -> None:
    sidebar, document, window = page.evaluate(
        "[document.querySelector('.app-sidebar').getBoundingClientRect().height,"
        " document.documentElement.scrollHeight, window.innerHeight]"
    )
    if long_page:
        assert document > window  # otherwise the assertion below would prove nothing
    assert sidebar >= document - 1  # fractional heights


# Scrolls the page (never an inner box) to each element in turn and reports those whose
# middle is outside the window or under something else, such as a box that clips it.
HIDDEN_ELEMENTS = """(selector) => {
  const hidden = [];
  for (const el of document.querySelectorAll(selector)) {
    let box = el.getBoundingClientRect();
    // "instant": Bootstrap makes the page scroll smoothly, which would measure mid-flight.
    window.scrollTo({top: window.scrollY + box.top - window.innerHeight / 2, behavior: "instant"});
    box = el.getBoundingClientRect();
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    const top = document.elementFromPoint(x, y);
    if (box.right > window.innerWidth || box.left < 0 || !top || !el.contains(top)) {
      hidden.push(el.textContent.trim());
    }
  }
  window.scrollTo({top: 0, behavior: "instant"});
  return hidden;
}"""

# Texts cut off at the side of their own box.
CLIPPED_TEXTS = """(selector) => [...document.querySelectorAll(selector)]
  .filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => el.textContent.trim())"""


@pytest.mark.parametrize("width", WIDTHS)
def test_schedule_shows_every_action_button_in_the_window(page, asgi_live_server, busy_day, width):
    day = busy_day["day"].isoformat()
    open_at(page, asgi_live_server, width, f"/schedule/?doctor={busy_day['doctor'].pk}&date={day}")
    screenshot(page, f"layout-{width}-schedule")

    buttons = page.locator("[data-step]")
    assert buttons.count() >= 8
    assert page.evaluate(HIDDEN_ELEMENTS, "[data-step]") == []
    assert_page_fits_the_window(page)
    assert_sidebar_runs_the_page_height(page, long_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_tab_of_the_patient_card_is_visible(page, asgi_live_server, busy_day, width):
    open_at(page, asgi_live_server, width, f"/patients/{busy_day['patient'].pk}/")
    screenshot(page, f"layout-{width}-card")

    tabs = page.locator("[data-section]")
    assert tabs.count() == len(SECTIONS)
    assert page.evaluate(HIDDEN_ELEMENTS, "[data-section]") == []
    assert_page_fits_the_window(page)
    assert_sidebar_runs_the_page_height(page, long_page=True)

    page.locator('[data-section="dms"]').click()
    page.wait_for_url(f"**/patients/{busy_day['patient'].pk}/dms/")
    assert page.evaluate(HIDDEN_ELEMENTS, "[data-section]") == []
    assert_page_fits_the_window(page)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("view", ["day", "week"])
def test_calendar_shows_whole_names(page, asgi_live_server, busy_day, width, view):
    day = busy_day["day"].isoformat()
    open_at(page, asgi_live_server, width, f"/calendar/?branch={busy_day['branch'].pk}&date={day}")
    page.wait_for_function("document.querySelectorAll('.ec-resource').length")
    if view == "week":
        page.click(".ec-resourceTimeGridWeek")
    page.wait_for_function(f"document.querySelectorAll('.app-event-title').length >= {CHAIRS * 8}")
    page.wait_for_load_state("networkidle")
    screenshot(page, f"layout-{width}-calendar-{view}")

    assert page.evaluate(CLIPPED_TEXTS, ".app-event-title") == []
    assert page.evaluate(CLIPPED_TEXTS, ".ec-resource") == []
    assert_page_fits_the_window(page)
    assert_sidebar_runs_the_page_height(page, long_page=False)
