"""What input from outside may be: dates inside a window, ids that fit a column, text
without control characters. Every form, view and API operation checks its input here, so
a hostile or careless value gets a clear 4xx instead of a 500 or a row dated year 0002.

- **Dates**: any date the system stores or computes with lies in ``SANE_DATES``
  (1900-01-01 .. 2100-12-31); time-zone arithmetic on year 1 or 9999 overflows. Every
  ``DateField`` of a project form gets that window (``clinic.forms.StyledMixin``); visits
  and shifts are booked and moved only within ``calendar_window()`` around today (checked by
  ``calendar_app.services``). Dates of birth keep their own rule (``patients.forms``).
- **Query parameters**: ``date_param`` reads ``?date=`` and the like (400 with a message,
  or the default where a page falls back on garbage); ``parse_id`` / ``parse_id_list``
  read ids, which must fit a 64-bit signed column (``BIGINT``).
- **Text**: control characters (NUL and the rest of C0 and C1, except tab, CR and LF) and
  lone surrogates are refused in every request by ``clinic.middleware.InputGuardMiddleware``.
"""

import datetime
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import BadRequest, ValidationError
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# --- Dates -----------------------------------------------------------------------------

DateBound = datetime.date | Callable[[], datetime.date]


@dataclass(frozen=True)
class DateWindow:
    first: DateBound
    last: DateBound

    def bounds(self) -> tuple[datetime.date, datetime.date]:
        first = self.first() if callable(self.first) else self.first
        last = self.last() if callable(self.last) else self.last
        return first, last

    def __contains__(self, value: datetime.date) -> bool:
        first, last = self.bounds()
        return first <= value <= last


SANE_DATES = DateWindow(datetime.date(1900, 1, 1), datetime.date(2100, 12, 31))

# Visits and shifts are booked and moved within this window around today: far enough back
# to record a forgotten visit or correct last year's schedule, far enough ahead for a yearly
# check-up or a year's shift pattern started next year.
CALENDAR_DAYS_BACK = 2 * 366
CALENDAR_DAYS_AHEAD = 2 * 366


def _calendar_first() -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=CALENDAR_DAYS_BACK)


def _calendar_last() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=CALENDAR_DAYS_AHEAD)


CALENDAR_DATES = DateWindow(_calendar_first, _calendar_last)


def calendar_window() -> tuple[datetime.date, datetime.date]:
    return CALENDAR_DATES.bounds()


def show_date(value: datetime.date) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT")


class DateWindowValidator:
    """A form field validator: the date lies in ``window``. The messages may name the
    bounds as ``%(first)s`` and ``%(last)s``."""

    def __init__(
        self,
        window: DateWindow = SANE_DATES,
        *,
        too_early: "StrOrPromise | None" = None,
        too_late: "StrOrPromise | None" = None,
    ):
        self.window = window
        self.too_early = too_early
        self.too_late = too_late

    def __call__(self, value: datetime.date | datetime.datetime | None) -> None:
        if value is None:
            return
        day = value.date() if isinstance(value, datetime.datetime) else value
        first, last = self.window.bounds()
        if first <= day <= last:
            return
        custom = self.too_early if day < first else self.too_late
        message = custom or gettext_lazy("Enter a date from %(first)s to %(last)s.")
        raise ValidationError(
            message,
            code="date_out_of_range",
            params={"first": show_date(first), "last": show_date(last)},
        )


def check_calendar_times(start: datetime.datetime, end: datetime.datetime, message: str) -> None:
    """Visits and shifts lie within ``calendar_window()``: their local dates are compared, so
    that no time-zone arithmetic on a hostile year can overflow before the check.
    ``message`` names the window's bounds as ``%(first)s`` and ``%(last)s``."""
    first, last = calendar_window()
    if not (first <= start.date() <= last and first <= end.date() <= last):
        raise ValidationError(
            message % {"first": show_date(first), "last": show_date(last)},
            code="date_out_of_range",
        )


def parse_local_datetime(value: str, zone: datetime.tzinfo) -> datetime.datetime:
    """An ISO 8601 time ("2026-11-23T09:30:00", or with an offset) as an aware datetime
    in ``zone`` when it has none. ValueError when it is not one, or outside ``SANE_DATES``."""
    moment = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.date() not in SANE_DATES:
        raise ValueError(f"{value!r} is outside {SANE_DATES}")
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


class InputRefused(BadRequest):
    """Input the request cannot be served with: a 400 with ``message`` for the user
    (``clinic.middleware.InputGuardMiddleware`` and the API answer it)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def date_param(
    request: HttpRequest,
    name: str,
    default: datetime.date,
    *,
    lenient: bool = False,
    window: DateWindow = SANE_DATES,
) -> datetime.date:
    """``?name=YYYY-MM-DD`` (a time after the date is ignored), or ``default`` when it is
    missing. Garbage or a date outside ``window`` raises ``InputRefused`` (400), or gives
    ``default`` when ``lenient`` (pages that always fell back to today)."""
    value = request.GET.get(name, "")
    if not value:
        return default
    try:
        day = datetime.date.fromisoformat(value[:10])
    except ValueError:
        day = None
    if day is not None and day in window:
        return day
    if lenient:
        return default
    first, last = window.bounds()
    raise InputRefused(
        _("“%(name)s” must be a date from %(first)s to %(last)s, written as YYYY-MM-DD.")
        % {"name": name, "first": first.isoformat(), "last": last.isoformat()}
    )


# --- Ids -------------------------------------------------------------------------------

# Primary keys are BIGINT (``DEFAULT_AUTO_FIELD``); a larger number is no id, and SQLite
# raises OverflowError on it in any query but an exact lookup.
ID_MAX = 2**63 - 1
_ID = re.compile(r"[0-9]{1,19}")


def parse_id(value: object) -> int | None:
    """A positive id that fits the column, from text typed anywhere; None otherwise.

    ASCII digits only: ``str.isdigit()`` also accepts "²" and "١٢", and ``int("²")`` fails.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value <= ID_MAX else None
    text = str(value or "").strip()
    if not _ID.fullmatch(text):
        return None
    number = int(text)
    return number if 0 < number <= ID_MAX else None


def parse_id_list(text: str) -> list[int]:
    """Comma-separated ids ("3,5,8"; blanks between commas are skipped). ValueError on
    anything else, so the caller answers with its own message."""
    ids = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        number = parse_id(part)
        if number is None:
            raise ValueError(f"not an id: {part!r}")
        ids.append(number)
    return ids


# --- Text ------------------------------------------------------------------------------

# C0 controls but tab, LF and CR; DEL and the C1 controls; UTF-16 surrogates (JSON's
# "\ud800" decodes to one, and no database driver can encode it).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def has_control_characters(text: str) -> bool:
    return _CONTROL.search(text) is not None


def any_control_characters(values: Iterable[str]) -> bool:
    return any(_CONTROL.search(value) for value in values)


def json_strings(data: object) -> Iterable[str]:
    """Every key and string value of decoded JSON, without recursion (any nesting depth)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for key, value in item.items():
                yield key
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


CONTROL_CHARACTERS_REFUSED = gettext_lazy(
    "The request contains a control character (such as a NUL byte), which cannot be "
    "stored. Remove it and try again."
)
