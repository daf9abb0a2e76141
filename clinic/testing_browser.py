"""Helpers for Playwright tests: log in, collect console errors, save screenshots."""

from pathlib import Path

from django.conf import settings

SCREENSHOTS = Path(settings.BASE_DIR) / "test-output" / "screenshots"


class ConsoleWatcher:
    """Collects JavaScript errors and server errors of same-origin requests of a page."""

    def __init__(self, page, origin: str):
        self.errors: list[str] = []
        self.origin = origin
        page.on("console", self._console)
        page.on("pageerror", self._page_error)
        page.on("response", self._response)

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _page_error(self, error) -> None:
        self.errors.append(str(error))

    def _response(self, response) -> None:
        if response.url.startswith(self.origin) and response.status >= 500:
            self.errors.append(f"{response.status} {response.url}")


def log_in(page, live_server, username: str, password: str) -> None:
    """Sign in through the login form (``live_server`` or ``asgi_live_server``)."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.click("[data-login-submit]")
    page.wait_for_url(f"{live_server.url}/")


def htmx_settled(page) -> None:
    """Wait until htmx has settled what it swapped in: it binds the new content's triggers
    (``hx-trigger="change"``...) only then, some 20 ms after the content shows, and a change
    made before is lost."""
    page.wait_for_function(
        "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
