"""One request rate per outside account, shared by every process that talks to it.

A sliding window in Redis (one Lua script, so checking and taking a slot is atomic across
workers): at most ``limit`` requests in any ``window`` seconds. A slot is taken before the
request leaves and ``settle``d to the moment its answer came back: the provider counts
arrivals, which lie between the two, so a request held up on its way (a busy CPU, a network
hiccup, a pause of either process) cannot let the next window open early. A 429 from the provider
pauses every process for its ``Retry-After`` (``pause``) and halves the rate for a while
(``slow_down``). Without Redis (the SQLite quickstart) the same rules hold inside one process.

Keys: ``<CACHE_KEY_PREFIX>:ratelimit:<key>`` (the window), ``...:slow`` and ``...:pause``.
"""

import threading
import time
import uuid
from collections import deque
from typing import Any

from django.conf import settings

# Returns 0 when a slot was taken, else the milliseconds to wait before asking again.
_ACQUIRE = """
local window_key, slow_key, pause_key = KEYS[1], KEYS[2], KEYS[3]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local paused = redis.call('PTTL', pause_key)
if paused > 0 then return paused end
local slow = redis.call('GET', slow_key)
if slow then limit = math.min(limit, tonumber(slow)) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', window_key, '-inf', now - window)
if redis.call('ZCARD', window_key) < limit then
  redis.call('ZADD', window_key, now, ARGV[3])
  redis.call('PEXPIRE', window_key, window)
  return 0
end
local oldest = redis.call('ZRANGE', window_key, 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""

# Moves a slot to now (the answer's arrival), if it is still in the window.
_SETTLE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now, ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return 0
"""

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _redis(url: str):
    import redis

    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = _clients[url] = redis.Redis.from_url(url)
        return client


class RateLimiter:
    """``acquire()`` blocks until a request may go out; ``pause``/``slow_down`` after a 429."""

    def __init__(
        self,
        key: str,
        *,
        limit: int,
        window: float = 1.0,
        slow_down_for: float = 60.0,
        redis_url: str | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("A rate limit allows at least one request per window.")
        prefix = getattr(settings, "CACHES", {}).get("default", {}).get("KEY_PREFIX", "odonta")
        self.key = f"{prefix}:ratelimit:{key}"
        self.limit = limit
        self.window_ms = max(1, int(window * 1000))
        self.slow_down_for = slow_down_for
        url = redis_url if redis_url is not None else settings.REDIS_URL
        self._redis = _redis(url) if url else None
        self._script = self._redis.register_script(_ACQUIRE) if self._redis else None
        self._settle = self._redis.register_script(_SETTLE) if self._redis else None

    def acquire(self, *, max_wait: float = 300.0, slot: str | None = None) -> float:
        """Take a slot (named ``slot``, to ``settle`` it later), waiting as long as needed;
        returns the seconds waited."""
        slot = slot or uuid.uuid4().hex
        waited = 0.0
        while True:
            wait_ms = self._try(slot)
            if wait_ms <= 0:
                return waited
            if waited >= max_wait:
                raise TimeoutError(f"No request slot for {self.key} within {max_wait} s")
            pause = min(wait_ms / 1000, max_wait - waited + 0.001)
            time.sleep(pause)
            waited += pause

    def settle(self, slot: str) -> None:
        """The request of ``slot`` has its answer: count it from now on, not from when it
        left (a slot that has left the window already stays out)."""
        if self._settle is not None:
            self._settle(keys=[self.key], args=[slot, self.window_ms])
            return
        state = _local(self.key)
        with state.lock:
            if any(member == slot for _at, member in state.times):
                now = time.monotonic()
                state.times = deque(
                    sorted((now if member == slot else at, member) for at, member in state.times)
                )

    def pause(self, seconds: float) -> None:
        """No process sends a request for ``seconds`` (a provider's Retry-After)."""
        if seconds <= 0:
            return
        if self._redis is not None:
            self._redis.set(f"{self.key}:pause", "1", px=max(1, int(seconds * 1000)))
        else:
            _local(self.key).pause_until = time.monotonic() + seconds

    def slow_down(self) -> int:
        """Halve the rate (down to one a window) for ``slow_down_for`` seconds; the new rate."""
        current = self.current_limit()
        slower = max(1, current // 2)
        if self._redis is not None:
            self._redis.set(f"{self.key}:slow", slower, px=int(self.slow_down_for * 1000))
        else:
            state = _local(self.key)
            state.slow_limit, state.slow_until = slower, time.monotonic() + self.slow_down_for
        return slower

    def current_limit(self) -> int:
        if self._redis is not None:
            slow = self._redis.get(f"{self.key}:slow")
            return min(self.limit, int(slow)) if slow else self.limit
        state = _local(self.key)
        if state.slow_until > time.monotonic():
            return min(self.limit, state.slow_limit)
        return self.limit

    def reset(self) -> None:
        if self._redis is not None:
            self._redis.delete(self.key, f"{self.key}:slow", f"{self.key}:pause")
        else:
            _locals.pop(self.key, None)

    def _try(self, slot: str) -> int:
        if self._script is not None:
            return int(
                self._script(
                    keys=[self.key, f"{self.key}:slow", f"{self.key}:pause"],
                    args=[self.limit, self.window_ms, slot],
                )
            )
        state = _local(self.key)
        with state.lock:
            now = time.monotonic()
            if state.pause_until > now:
                return int((state.pause_until - now) * 1000) + 1
            limit = self.current_limit()
            window = self.window_ms / 1000
            while state.times and state.times[0][0] <= now - window:
                state.times.popleft()
            if len(state.times) < limit:
                state.times.append((now, slot))
                return 0
            return max(1, int((state.times[0][0] + window - now) * 1000) + 1)


class _LocalState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: deque[tuple[float, str]] = deque()  # (taken or settled at, slot)
        self.pause_until = 0.0
        self.slow_limit = 0
        self.slow_until = 0.0


_locals: dict[str, _LocalState] = {}


def _local(key: str) -> _LocalState:
    with _clients_lock:
        return _locals.setdefault(key, _LocalState())
