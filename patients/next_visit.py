"""The start of a patient's next visit, as an expression over the patient row.

The phone search puts the callers most likely on the line first: a visit today, then an
upcoming one. Visits belong to the calendar, which sits to the right of patients, so the
calendar registers the expression here (``calendar_app.registrations``). Without it every
patient has no next visit and the search falls back to the last activity.
"""

import datetime
from collections.abc import Callable

from django.db.models import DateTimeField, Value
from django.db.models.expressions import BaseExpression

NextVisitStart = Callable[[datetime.datetime], BaseExpression]
"""Given a moment, the start of the patient's first visit from that moment on, or NULL."""

_next_visit_start: NextVisitStart | None = None


def register(expression: NextVisitStart) -> None:
    global _next_visit_start
    _next_visit_start = expression


def next_visit_start(since: datetime.datetime) -> BaseExpression:
    if _next_visit_start is None:
        return Value(None, output_field=DateTimeField())
    return _next_visit_start(since)
