"""The calendar's side panel: the mini calendar's title and the schedule dialog's day."""

import datetime

import pytest

from clinic import testing
from clinic.testing_browser import ConsoleWatcher, screenshot
from clinic.tests.factories import ChairFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Not today: the dialog used to open on today whatever day was viewed.
DAY = datetime.date.today() + datetime.timedelta(days=10)


@pytest.fixture
def registrar_on_the_calendar(page, asgi_live_server):
    branch = testing.main_branch()
    testing.make_persona("registrar", branch, password="registrar")
    ChairFactory(branch=branch, name="Кресло 1")
    page.goto(f"{asgi_live_server.url}/accounts/login/")
    page.fill("input[name=login]", "registrar")
    page.fill("input[name=password]", "registrar")
    page.click("[data-login-submit]")
    page.wait_for_url(f"{asgi_live_server.url}/")
    page.goto(f"{asgi_live_server.url}/calendar/?branch={branch.pk}&date={DAY.isoformat()}")
    page.wait_for_function("window.odontaCalendar && document.querySelector('[data-mini-title]')")
    return page


def test_the_mini_calendar_is_titled_by_the_month_and_the_year_alone(
    registrar_on_the_calendar, asgi_live_server
):
    page = registrar_on_the_calendar
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    title = page.inner_text("[data-mini-title]")
    month, year = title.split(" ")
    assert year == str(DAY.year)
    assert month[0].isupper() and month[1:].islower() and month.isalpha()
    screenshot(page, "calendar-mini-title")
    assert watcher.errors == []


def test_the_schedule_dialog_opens_on_the_day_being_viewed(registrar_on_the_calendar):
    page = registrar_on_the_calendar
    page.click("[data-add-shift]")
    page.wait_for_selector("[data-shift-form]")
    assert page.input_value("[data-shift-form] [name=date]") == DAY.isoformat()
    page.keyboard.press("Escape")
    page.click(".ec-next")  # the next day
    page.click("[data-add-shift]")
    page.wait_for_selector("[data-shift-form]")
    next_day = DAY + datetime.timedelta(days=1)
    page.wait_for_function(
        f"document.querySelector('[data-shift-form] [name=date]').value === '{next_day}'"
    )
