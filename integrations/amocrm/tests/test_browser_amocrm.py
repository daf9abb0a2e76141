"""amoCRM with the mouse: connect by OAuth through the (fake) account's consent page, the
setup wizard with its defaults, the initial sync's dry run and its progress bar to done."""

import pytest
from playwright.sync_api import expect

from clinic import testing
from clinic.testing_browser import ConsoleWatcher, log_in, screenshot
from integrations.amocrm.config import CONTACT, SYSTEM
from integrations.amocrm.fake import FakeAmo
from integrations.models import Connection, ExternalLink
from patients.tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_set_up_and_run_the_initial_sync(page, asgi_live_server, settings):
    settings.LONG_JOBS_IN_THREADS = True  # the run goes on while the page polls it
    branch = testing.main_branch()
    testing.make_admin(branch, password="admin")
    for number in range(12):
        PatientFactory(phone=f"+7916777{number:04d}")
    site = asgi_live_server.url
    with FakeAmo(rps=4) as fake:
        fake.ui_add_contact("Уже в amoCRM", phone="+79167770003")
        # What the clinic pasted into its amoCRM integration (the page shows it).
        fake.redirect_uri = f"{site}/integrations/amocrm/oauth/callback"
        page.set_viewport_size({"width": 1280, "height": 900})
        watcher = ConsoleWatcher(page, site)
        log_in(page, asgi_live_server, "admin", "admin")

        # Connect by OAuth: amoCRM's consent page, Allow, back to Odonta.
        page.goto(f"{site}/integrations/amocrm/")
        page.locator("[data-amocrm-connect]").click()
        oauth = page.locator("[data-connect-oauth]")
        expect(page.locator("[data-redirect-uri]")).to_have_text(fake.redirect_uri)
        oauth.locator("input[name=oauth-base_url]").fill(fake.url)
        oauth.locator("input[name=oauth-client_id]").fill(fake.client_id)
        oauth.locator("input[name=oauth-client_secret]").fill(fake.client_secret)
        oauth.locator("button[type=submit]").click()
        expect(page.locator("#account")).to_contain_text(str(fake.account_id))
        page.locator("#allow").click()

        # Connected: the wizard opens; every step's defaults, then Finish.
        expect(page.locator("[data-setup-form='pipeline']")).to_be_visible(timeout=15_000)
        for step in ("pipeline", "fields", "statuses", "users", "owners"):
            form = page.locator(f"[data-setup-form='{step}']")
            expect(form).to_be_visible()
            if step == "statuses":
                screenshot(page, "amocrm-setup-statuses-1280")
            form.locator("button[type=submit]").click()
        page.locator("[data-setup-form='finish'] button[type=submit]").click()
        expect(page.locator("[data-amocrm-state='connected']")).to_be_visible()
        expect(page.locator("[data-amocrm-setup-state] .bi-check2-circle")).to_be_visible()
        screenshot(page, "amocrm-connected-1280")
        connection = Connection.objects.get(system=SYSTEM)
        assert connection.settings["setup_done"] and connection.settings["webhook_secret"]
        assert fake.webhooks and fake.webhooks[0]["destination"].startswith(site)
        assert connection.get_credentials()["kind"] == "oauth"

        # The initial sync: the dry run's counts, then the run with its progress bar.
        connection.settings["batch_size"] = 2  # small chunks: the bar moves for a while
        connection.save(update_fields=["settings"])
        page.locator("[data-initial-sync-link]").click()
        page.locator("[data-initial-preview]").click()
        counts = page.locator("[data-initial-preview-counts]")
        expect(counts.locator("[data-count='to_create']")).to_have_text("11", timeout=20_000)
        expect(counts.locator("[data-count='to_link']")).to_have_text("1")
        screenshot(page, "amocrm-initial-preview-1280")
        page.locator("[data-initial-start]").click()
        expect(page.locator("#initial-job[data-initial-status='running']")).to_be_visible()
        expect(page.locator("[data-initial-progress]")).to_be_visible()
        screenshot(page, "amocrm-initial-running-1280")
        expect(page.locator("[data-initial-done]")).to_be_visible(timeout=60_000)
        screenshot(page, "amocrm-initial-done-1280")
        assert ExternalLink.objects.filter(system=SYSTEM, external_type=CONTACT).count() == 12
        assert len(fake.contacts) == 12
    assert watcher.errors == []
