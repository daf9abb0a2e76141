"""The patient-app accounts in amoCRM with the mouse: the card's "Update app account in CRM"
(confirm, then the message: written, or why not), and the patients list's "Sync app
accounts" (the dialog refuses a bad range, then the background run's progress page and its
summary, a skipped patient's name leading to the card). The fake amoCRM's contacts are read
after each step."""

import datetime
import itertools

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from clinic import testing
from clinic.testing_browser import ConsoleWatcher, log_in, screenshot
from clinic.tests.factories import ChairFactory, EmployeeFactory, ProfessionFactory
from integrations.amocrm import app_accounts
from integrations.amocrm.fake import FakeAmo
from integrations.amocrm.testing import AmoWorld
from integrations.amocrm.tests.helpers import book, contact_of, new_patient
from integrations.amocrm.views_app_accounts import CARD_SKIPPED
from integrations.models import SyncJob
from patients import services as patient_services
from patients.models import PortalAccount

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def in_russian(text) -> str:
    """What the page shows for a message (read from the catalogue: a message new on this
    branch reads as its English msgid until the lead merges its translation)."""
    with translation.override("ru"):
        return str(text)


def test_app_accounts_from_the_card_and_from_the_list(page, asgi_live_server, settings):
    settings.LONG_JOBS_IN_THREADS = True  # the list run goes on while its page polls
    site = asgi_live_server.url
    branch = testing.main_branch()
    testing.make_admin(branch, password="admin")
    registrar = testing.make_persona("registrar", branch)
    doctor = EmployeeFactory(
        last_name="Терапевтова",
        branches=[branch],
        professions=[ProfessionFactory(name="Терапевт", kind="doctor")],
    )
    desk = {
        "branch": branch,
        "chair": ChairFactory(branch=branch),
        "doctor": doctor,
        "user": registrar.user,
    }
    today = timezone.now().astimezone(app_accounts.clinic_zone()).date()

    # rps=3: the list run's writes (one contact a request) take a few seconds, so the
    # progress page is seen running before its summary.
    with FakeAmo(rps=3) as fake:
        world = AmoWorld.connect(fake, site=site)
        field = fake.field_id("contacts", "Аккаунт приложения")
        connection = world.connection
        connection.settings["contact_fields"]["app_account"] = field
        connection.settings["batch_size"] = 1
        connection.save(update_fields=["settings"])

        days = itertools.count(1)

        def patient(last_name, phone, *, login, activated_days_ago, booked=True):
            person = new_patient(registrar.user, last_name=last_name, phone=phone)
            if booked:
                book(desk, person, days=next(days))  # a day each: one chair, one doctor
            patient_services.portal_activate(patient=person, by=registrar.user, login=login)
            moment = timezone.now() - datetime.timedelta(days=activated_days_ago)
            PortalAccount.objects.filter(patient=person).update(activated_at=moment)
            return person

        olga = patient("Смирнова", "+79161110001", login="olga@example.ru", activated_days_ago=10)
        anna = patient(
            "Неявкина", "+79161110002", login="anna@example.ru", activated_days_ago=8, booked=False
        )
        ivan = patient("Иванова", "+79161110003", login="ivan@example.ru", activated_days_ago=5)
        maria = patient("Маринина", "+79161110004", login="maria@example.ru", activated_days_ago=2)
        old = patient("Давнишняя", "+79161110005", login="old@example.ru", activated_days_ago=90)
        world.sync()  # every patient gets a contact; no app account is written by the push
        for person in (olga, anna, ivan, maria, old):
            assert fake.contact_field_value(contact_of(world, person), field) is None

        page.set_viewport_size({"width": 1280, "height": 900})
        watcher = ConsoleWatcher(page, site)
        log_in(page, asgi_live_server, "admin", "admin")
        try:
            # The card: actions menu -> Update app account in CRM -> confirm -> written.
            page.goto(f"{site}{olga.get_absolute_url()}")
            page.locator("[data-card-actions]").click()
            action = page.locator("[data-card-action='amocrm-app-account']")
            expect(action).to_have_text("Обновить аккаунт приложения в CRM")
            screenshot(page, "amocrm-app-accounts-card-menu")
            action.click()
            confirm = page.locator("#app-confirm")
            expect(confirm).to_contain_text("Записать аккаунт приложения этого пациента в amoCRM")
            confirm.locator("[data-confirm-ok]").click()
            expect(page.locator("#app-toasts .alert-success")).to_contain_text(
                "Аккаунт приложения записан в amoCRM."
            )
            expected = app_accounts.account_value(PortalAccount.objects.get(patient=olga))
            assert expected.startswith("olga@example.ru (активирован ")
            assert fake.contact_field_value(contact_of(world, olga), field) == expected

            # A patient never booked: nothing is written, and the message says why.
            page.goto(f"{site}{anna.get_absolute_url()}")
            page.locator("[data-card-actions]").click()
            page.locator("[data-card-action='amocrm-app-account']").click()
            page.locator("#app-confirm [data-confirm-ok]").click()
            expect(page.locator("#app-toasts .alert-danger")).to_have_text(
                in_russian(CARD_SKIPPED[app_accounts.NEVER_BOOKED])
            )
            page.wait_for_load_state("networkidle")  # the card's blocks, for the picture
            screenshot(page, "amocrm-app-accounts-card-skipped")
            assert fake.contact_field_value(contact_of(world, anna), field) is None

            # The list: Sync app accounts -> the dialog; the end before the start is refused.
            page.goto(f"{site}/patients/")
            page.locator("[data-list-action='amocrm-app-accounts']").click()
            form = page.locator("#app-dialog [data-app-accounts-form]")
            expect(form).to_be_visible()
            month_ago = today - datetime.timedelta(days=30)
            form.locator("input[name=date_from]").fill(today.isoformat())
            form.locator("input[name=date_to]").fill(month_ago.isoformat())
            form.locator("[data-app-accounts-start]").click()
            form = page.locator("#app-dialog [data-app-accounts-form]")
            expect(form.locator(".invalid-feedback")).to_contain_text(
                "Конец периода раньше начала."
            )
            screenshot(page, "amocrm-app-accounts-dialog")
            assert not SyncJob.objects.filter(kind=app_accounts.KIND).exists()

            # A good range: the job page, its progress, then the summary.
            form.locator("input[name=date_from]").fill(month_ago.isoformat())
            form.locator("input[name=date_to]").fill(today.isoformat())
            form.locator("[data-app-accounts-start]").click()
            page.wait_for_url(f"{site}/integrations/amocrm/app-accounts/**")
            job = SyncJob.objects.get(kind=app_accounts.KIND)
            assert job.total == 4  # the one activated 90 days ago is outside the range
            expect(page.locator("[data-app-accounts-progress]")).to_be_visible()
            expect(
                page.locator("#app-accounts-job[data-app-accounts-status='running']")
            ).to_be_visible()
            screenshot(page, "amocrm-app-accounts-running")
            done = page.locator("#app-accounts-job[data-app-accounts-status='done']")
            expect(done).to_be_visible(timeout=60_000)
            expect(done.locator("[data-app-accounts-progress]")).to_have_attribute(
                "data-app-accounts-progress", "100"
            )
            summary = done.locator("[data-app-accounts-summary]")
            expect(summary.locator("[data-count='written']")).to_have_text("2")
            expect(summary.locator("[data-count='up_to_date']")).to_have_text("1")
            expect(summary.locator("[data-count='skipped']")).to_have_text("1")
            expect(summary.locator("[data-count='failed']")).to_have_text("0")
            reason = done.locator("[data-skipped-reason]")
            expect(reason).to_contain_text(
                in_russian(app_accounts.SKIP_REASONS[app_accounts.NEVER_BOOKED])
            )
            link = reason.locator(f"[data-skipped-patient='{anna.pk}']")
            expect(link).to_be_visible()  # a short list is open without a click
            expect(link).to_have_text(anna.full_name)
            screenshot(page, "amocrm-app-accounts-summary")
            for person in (ivan, maria):
                value = app_accounts.account_value(PortalAccount.objects.get(patient=person))
                assert fake.contact_field_value(contact_of(world, person), field) == value
            assert fake.contact_field_value(contact_of(world, old), field) is None
            assert fake.contact_field_value(contact_of(world, anna), field) is None

            # The skipped patient's name leads to the card.
            link.click()
            page.wait_for_url(f"{site}{anna.get_absolute_url()}")
            expect(page.locator("[data-patient-name]")).to_have_text(anna.full_name)
        except Exception:
            screenshot(page, "amocrm-app-accounts-failure")
            raise
    # The refused range answers 422 (the dialog shows the form again): the browser logs it.
    assert [e for e in watcher.errors if "status of 422" not in e] == []
