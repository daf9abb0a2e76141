import pytest

from clinic import testing
from clinic.modules import MODULES
from clinic.testing_browser import ConsoleWatcher, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_admin(db):
    branch = testing.main_branch()
    persona = testing.make_admin(branch, password="admin")
    return persona


def test_admin_logs_in_and_opens_every_module(page, asgi_live_server, demo_admin):
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    log_in(page, asgi_live_server, "admin", "admin")
    screenshot(page, "home")

    links = page.locator(".app-menu-link")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    # Every module of the registry that has a place in the sidebar, for a superuser.
    assert len(hrefs) == len([module for module in MODULES if module.in_sidebar])
    for href in hrefs:
        response = page.goto(f"{asgi_live_server.url}{href}")
        assert response.status == 200, href
        assert (
            page.locator(f'.app-menu-link[href="{href}"]').get_attribute("aria-current") == "page"
        )
    page.goto(f"{asgi_live_server.url}/staff/")
    screenshot(page, "staff-list")
    assert watcher.errors == []


def test_registrar_sidebar_shows_only_allowed_modules(page, asgi_live_server, db):
    testing.make_persona("registrar", testing.main_branch(), password="registrar")
    log_in(page, asgi_live_server, "registrar", "registrar")
    modules = page.locator(".app-menu-link").evaluate_all("els => els.map(e => e.dataset.module)")
    assert "patients" in modules and "calendar" in modules
    assert "staff" not in modules and "settings" not in modules and "audit" not in modules
    assert page.goto(f"{asgi_live_server.url}/staff/").status == 403


def test_logout_from_the_user_menu(page, asgi_live_server, demo_admin):
    log_in(page, asgi_live_server, "admin", "admin")
    page.click("[data-user-menu]")
    page.click("[data-logout]")
    page.wait_for_url("**/accounts/login/")
    assert page.goto(f"{asgi_live_server.url}/staff/").url.startswith(
        f"{asgi_live_server.url}/accounts/login/"
    )
