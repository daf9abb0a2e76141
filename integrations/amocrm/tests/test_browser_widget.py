"""The deal-card widget with the mouse: the fake amoCRM's deal card runs the package's
script.js (a real cross-origin request with its CORS preflight to Odonta), which shows the
panel in an iframe; edit the visit's time, cancel it, and book a deal without a visit
through the slot list."""

import datetime

import pytest
from playwright.sync_api import expect

from calendar_app.models import Appointment, StatusCode
from calendar_app.tests.factories import WorkShiftFactory
from clinic import testing
from clinic.testing_browser import screenshot
from clinic.tests.factories import ChairFactory, EmployeeFactory, ProfessionFactory
from integrations.amocrm import fake_widget, widget
from integrations.amocrm.config import LOST
from integrations.amocrm.fake import FakeAmo
from integrations.amocrm.testing import AmoWorld
from integrations.amocrm.tests.helpers import book, lead_of, new_patient
from pricelist.tests.factories import ServiceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_deal_card_panel_shows_edits_cancels_and_books(page, asgi_live_server):
    site = asgi_live_server.url
    branch = testing.main_branch()
    registrar = testing.make_persona("registrar", branch)
    doctor = EmployeeFactory(
        last_name="Терапевтова",
        branches=[branch],
        professions=[ProfessionFactory(name="Терапевт", kind="doctor")],
    )
    chair = ChairFactory(branch=branch)
    desk = {"branch": branch, "chair": chair, "doctor": doctor, "user": registrar.user}
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    start = datetime.datetime.combine(tomorrow, datetime.time(9), tzinfo=branch.zone)
    WorkShiftFactory(
        doctor=doctor, chair=chair, start=start, end=start + datetime.timedelta(hours=9)
    )
    service = ServiceFactory(name="Консультация", duration_minutes=30, price="1500.00")
    with FakeAmo(rps=None) as fake:
        world = AmoWorld.connect(fake, site=site)
        connection = world.connection
        connection.settings["users"] = {str(registrar.employee.pk): fake.user_ids[1]}
        connection.set_credentials(
            {**connection.get_credentials(), "widget_secret": fake.client_secret}
        )
        connection.save()
        fake_widget.install_widget(fake, widget.build_zip(site))
        visit = book(desk, new_patient(registrar.user), days=1, hour=10, services=[service])
        world.sync()
        lead_id = lead_of(world, visit)["id"]
        page.set_viewport_size({"width": 1100, "height": 900})
        try:
            # The deal card: the widget asks Odonta for a session and shows the panel.
            page.goto(f"{fake.url}/")
            page.locator(f"[data-lead='{lead_id}'] a").click()
            panel = page.frame_locator("iframe[data-odonta-panel]")
            expect(panel.locator(f"[data-panel-visit='{visit.pk}']")).to_be_visible()
            expect(panel.locator("[data-panel-time]")).to_have_text("10:00–10:45")
            expect(panel.locator("[data-panel-total]")).to_contain_text("1500")
            screenshot(page, "amocrm-widget-visit")

            # Edit: another start time.
            panel.locator("[data-panel-edit]").click()
            panel.locator("input[name=time]").fill("12:30")
            panel.locator("[data-panel-save]").click()
            expect(panel.locator("[data-panel-time]")).to_have_text("12:30–13:15")
            visit.refresh_from_db()
            assert visit.start.astimezone(branch.zone).time() == datetime.time(12, 30)

            # Cancel, after the confirm step: the deal is lost.
            panel.locator("[data-panel-cancel]").click()
            panel.locator("[data-panel-cancel-confirm]").click()
            expect(panel.locator("[data-panel-status='cancelled']")).to_be_visible()
            visit.refresh_from_db()
            assert visit.status == StatusCode.CANCELLED
            assert fake.leads[lead_id]["status_id"] == LOST

            # A deal without a visit: book through the slot list.
            contact = fake.ui_add_contact("Новикова Вера Павловна", phone="+79165550011")
            new_lead = fake.ui_add_lead("Запись с сайта", contact_id=contact["id"])["id"]
            page.goto(f"{fake.url}/leads/detail/{new_lead}")
            panel = page.frame_locator("iframe[data-odonta-panel]")
            panel.locator("[data-panel-book]").click()
            form = panel.locator("[data-panel-search-form]")
            # The user's branch is preselected; the services are found by typing.
            expect(form.locator("select[name=branch]")).to_have_value(str(branch.pk))
            form.locator(".ts-control input").fill("Консул")
            form.locator(".ts-dropdown .option", has_text="Консультация").click()
            expect(form.locator("input[name=duration]")).to_have_value("30")
            form.locator("input[name=date]").fill(tomorrow.isoformat())
            panel.locator("[data-panel-find]").click()
            panel.locator("[data-panel-slot='11:00']").first.click()
            panel.locator("textarea[name=note]").fill("Просит утро")
            screenshot(page, "amocrm-widget-book")
            panel.locator("[data-panel-book-save]").click()
            expect(panel.locator("[data-panel-time]")).to_have_text("11:00–11:30")
            booked = Appointment.objects.get(note="Просит утро")
            assert booked.patient.last_name == "Новикова"
            leads_before = len(fake.leads)
            world.sync()
            assert len(fake.leads) == leads_before
            assert "11:00" in fake.leads[new_lead]["name"]
        except Exception:
            screenshot(page, "amocrm-widget-failure")
            raise
