"""Requests made to an amoCRM account today (UTC), for the integration page's counter.

A cache counter per connection and day, shared by every process (Redis in production).
"""

import datetime

from django.core.cache import cache

KEEP_SECONDS = 2 * 24 * 3600


def _key(connection_id: int, day: datetime.date) -> str:
    return f"amocrm:req:{connection_id}:{day:%Y%m%d}"


def _today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def count_request(connection_id: int) -> None:
    key = _key(connection_id, _today())
    if cache.add(key, 1, KEEP_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, KEEP_SECONDS)


def requests_today(connection_id: int) -> int:
    return int(cache.get(_key(connection_id, _today())) or 0)
