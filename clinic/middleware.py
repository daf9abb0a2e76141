import time

from django.db import connection
from django.utils.functional import SimpleLazyObject

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
