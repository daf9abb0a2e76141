"""Time is stored aware in UTC and shown in a branch's zone."""

import datetime
import zoneinfo

from django.utils import timezone


def local_now(zone: str | zoneinfo.ZoneInfo) -> datetime.datetime:
    tz = zoneinfo.ZoneInfo(zone) if isinstance(zone, str) else zone
    return timezone.now().astimezone(tz)


def local_day_bounds(
    day: datetime.date, zone: str | zoneinfo.ZoneInfo
) -> tuple[datetime.datetime, datetime.datetime]:
    """The aware start and end (exclusive) of a calendar day in a zone."""
    tz = zoneinfo.ZoneInfo(zone) if isinstance(zone, str) else zone
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return start, end


def combine(
    day: datetime.date, time: datetime.time, zone: str | zoneinfo.ZoneInfo
) -> datetime.datetime:
    tz = zoneinfo.ZoneInfo(zone) if isinstance(zone, str) else zone
    return datetime.datetime.combine(day, time, tzinfo=tz)


def request_zone(request) -> zoneinfo.ZoneInfo | None:
    """The zone of the branch the user works in now (``CurrentBranchMiddleware``), if any."""
    branch = getattr(request, "branch", None)
    return branch.zone if branch else None
