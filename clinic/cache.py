"""Django's Redis cache, keeping its Redis clients.

Django builds a new ``redis.Redis`` for every cache call, and that constructor fills a
table of some two hundred response callbacks: a fifth of a millisecond, four or five times
in every request (the session, the user's rights, settings). A client is safe to share
between threads (each command takes a connection from the pool), so one per pool is kept,
and one client per process (below).
"""

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write: bool = False):
        # Django's own client API, which the type stubs do not describe.
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._clients[index] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


# One client per process and configuration. Django keeps a cache object per context
# (``CacheHandler`` is not thread-critical), and under ASGI every request has a context of
# its own: a client per cache object meant a new connection pool, so a new connection to
# Redis, for every request (about a millisecond of each page).
_shared: dict[str, ReusingRedisCacheClient] = {}
_shared_lock = threading.Lock()


class ReusingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    @cached_property
    def _cache(self):
        key = repr((self._servers, sorted(self._options.items())))
        client = _shared.get(key)
        if client is None:
            with _shared_lock:
                client = _shared.setdefault(key, self._class(self._servers, **self._options))
        return client
