import json
import time

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse, QueryDict
from django.utils import translation
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy

from clinic import bounds
from clinic.htmx import trigger

SESSION_KEY = "current_branch_id"


def current_branch(request):
    """The branch the user works in now: the one picked in the top bar, else the first."""
    from clinic.permissions import visible_branches

    if not request.user.is_authenticated:
        return None
    branches = visible_branches(request.user)
    branch_id = request.session.get(SESSION_KEY)
    branch = branches.filter(pk=branch_id).first() if branch_id else None
    return branch or branches.first()


class CurrentBranchMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.branch = SimpleLazyObject(lambda: current_branch(request))
        return self.get_response(request)


class _QueryTimer:
    """An ``execute_wrapper`` that counts the queries of a request and adds up their time."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - started


class ServerTimingMiddleware:
    """``Server-Timing: app;dur=12.34, db;dur=3.21, queries;desc=7`` on every response: the
    time Django spent on the request (all middleware included when this one is first), the
    time of its SQL and the number of queries. ``bench/run.py`` reads it.

    Settings add it only when ODONTA_SERVER_TIMING=1: it tells every client how hard the
    server worked, which a real deployment keeps to itself.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timer = _QueryTimer()
        started = time.perf_counter()
        with connection.execute_wrapper(timer):
            response = self.get_response(request)
        elapsed = time.perf_counter() - started
        response["Server-Timing"] = (
            f"app;dur={elapsed * 1000:.2f}, db;dur={timer.seconds * 1000:.2f}, "
            f"queries;desc={timer.count}"
        )
        return response


# The JSON API's URLs (config/api.py mounts it at /api/v1/; later versions go beside it).
API_PREFIX = "/api/"


def is_api_request(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def refusal(request, message: str, status: int = 400) -> HttpResponse:
    """A refused request, in the form its client reads: JSON ``{"detail"}`` for the API, a
    toast for htmx (nothing swapped), JSON ``{"ok": false, "error"}`` for the calendar's
    fetch calls, plain text for a page."""
    if is_api_request(request):
        return JsonResponse({"detail": message}, status=status)
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=status, headers={"HX-Reswap": "none"})
        return trigger(response, toasts=[{"text": message, "level": "danger", "undo": ""}])
    if "text/html" not in request.headers.get("Accept", ""):
        return JsonResponse({"ok": False, "error": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


FORM_CONTENT_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class InputGuardMiddleware:
    """Refuses (400, with a message) any request whose text carries a control character:
    the path, query parameters, form fields (the text parts of a multipart upload; files
    are not text and stay untouched) and any other body, JSON decoded first so that an
    escaped ``\\u0000`` is caught too. PostgreSQL cannot store NUL, and no person types the
    rest; webhook bodies are stored as text, so they are checked as well.

    Also answers ``clinic.bounds.InputRefused`` raised by a view (a bad ``?date=``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._carries_control_characters(request):
            return refusal(request, str(bounds.CONTROL_CHARACTERS_REFUSED))
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, bounds.InputRefused):
            return refusal(request, exception.message)
        return None

    def _carries_control_characters(self, request) -> bool:
        if bounds.has_control_characters(request.path_info):
            return True
        if bounds.any_control_characters(_keys_and_values(request.GET)):
            return True
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return False
        content_type = request.content_type or ""
        if request.method == "POST" and content_type in FORM_CONTENT_TYPES:
            # Django parses the form's text fields; file names it strips of control
            # characters itself, and file contents are not text.
            return bounds.any_control_characters(_keys_and_values(request.POST))
        if content_type == "multipart/form-data":
            return False  # Django parses multipart bodies of POST only
        text = request.body.decode("utf-8", errors="replace")
        if bounds.has_control_characters(text):
            return True
        if content_type == "application/x-www-form-urlencoded":
            return bounds.any_control_characters(_keys_and_values(QueryDict(text)))
        if content_type == "application/json" or content_type.endswith("+json"):
            try:
                data = json.loads(text)
            except ValueError:
                return False  # malformed: the view answers that in its own words
            except RecursionError:
                return True  # nested too deep to check (or to parse again in the view)
            return bounds.any_control_characters(bounds.json_strings(data))
        return False


def _keys_and_values(query_dict) -> list[str]:
    return [text for key, values in query_dict.lists() for text in (key, *values)]


# Error statuses as an API client reads them, when something outside django-ninja answered
# (a URL that matches no operation, a method not allowed, a 500 page).
API_ERROR_MESSAGES = {
    400: gettext_lazy("Bad request."),
    403: gettext_lazy("You do not have the right to do this."),
    404: gettext_lazy("Not found."),
    405: gettext_lazy("This method is not allowed here."),
    500: gettext_lazy("Internal server error; it has been logged."),
}


class ApiErrorsAsJsonMiddleware:
    """Under the API's URLs every error is JSON (``{"detail": ...}``) in production, like
    the errors django-ninja writes itself: also a URL no operation matches, a method not
    allowed and a 500 (whose traceback Django has logged and signalled before this runs).
    With DEBUG on, Django's and ninja's debugging pages stay."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            settings.DEBUG
            or response.status_code < 400
            or not is_api_request(request)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        status = response.status_code
        message = API_ERROR_MESSAGES.get(status) or response.reason_phrase
        converted = JsonResponse({"detail": str(message)}, status=status)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                converted[header] = response[header]
        return converted


class UserLanguageMiddleware:
    """The language a signed-in user chose, whatever the browser's cookie says (after the
    authentication middleware; the locale middleware then labels the response with it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user and user.is_authenticated else ""
        if language and language in dict(settings.LANGUAGES):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
