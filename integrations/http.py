"""The one HTTP client base for every outside system (amoCRM, telephony, SMS...).

A provider subclasses ``ApiClient``:

    class CrmClient(ApiClient):
        system = "crm"

        def auth_headers(self) -> dict[str, str]:
            return {"Authorization": f"Bearer {self.connection.get_credentials()['access_token']}"}

        def refresh(self) -> None:
            ...  # get new tokens, store them with connection_credentials_set

and calls ``client.get("/api/contacts", params=...)`` / ``post`` / ``patch`` / ``delete``.
What the base does for every request:

- **rate**: takes a slot of the connection's ``RateLimiter`` first (shared by all
  processes through Redis; ``INTEGRATIONS_RATE_LIMIT`` requests a second unless the
  connection's ``settings["rate_limit"]`` says otherwise), and settles it when the answer
  comes (the provider counts arrivals: a request slow on its way must not open the next
  window early);
- **timeouts and retries**: 5xx, timeouts and connection errors are retried with
  exponential backoff and jitter up to ``max_attempts``. A POST (not idempotent) is retried
  only when the request never reached the server (a connection error) or on 429, unless
  the caller passes ``idempotent=True`` (e.g. a write carrying its own request ids);
- **429**: every process waits the ``Retry-After`` seconds, and the rate is halved for a
  while; after the last attempt ``RateLimited``;
- **401**: ``refresh()`` once, then the request again; a second 401 is ``Unauthorized``;
- **403**: ``Forbidden`` at once (the caller pauses the connection);
- **other 4xx**: ``IntegrationError`` with the status and the response's text;
- **logging** (logger ``integrations.http``): every attempt at INFO (method, URL, status,
  time), bodies at DEBUG, secrets masked (``mask_text``, ``mask_url``, ``mask_headers``).
"""

import functools
import json
import logging
import random
import re
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from django.conf import settings

from integrations.ratelimit import RateLimiter

logger = logging.getLogger("integrations.http")

MASK = "***"
# Keys whose values never reach a log, in JSON and form bodies and in query strings.
SECRET_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "client_secret",
        "code",
        "password",
        "token",
        "api_key",
        "apikey",
        "secret",
        "authorization",
    }
)
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token"}
)
LOGGED_BODY_CHARS = 2000
_SECRET_NAMES = "|".join(sorted(SECRET_KEYS, key=len, reverse=True))
_SECRET_IN_TEXT = re.compile(
    rf"""(?P<key>["']?(?:{_SECRET_NAMES})["']?\s*[:=]\s*["']?)(?P<value>[^"'&\s,}}]+)""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One TLS context per process for every client: building one (the CA bundle read and
    parsed) took 20-50 ms, and a client is made per task (each push, each webhook)."""
    return httpx.create_ssl_context()


class IntegrationError(Exception):
    """A request to an outside system failed; ``status`` is the HTTP status if there was one."""

    def __init__(
        self, message: str, *, status: int | None = None, request_id: str = "", body: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.request_id = request_id
        self.body = body


class RateLimited(IntegrationError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unauthorized(IntegrationError):
    """401 after one refresh: the credentials are revoked or expired (needs reconnecting)."""


class Forbidden(IntegrationError):
    """403: the account refuses us (blocked, no rights): pause the connection and alert."""


class ServerError(IntegrationError):
    """5xx, or no answer at all (``status`` None), after the last attempt."""


class Timeout(ServerError):
    """The server did not answer within the timeout, after the last attempt."""


def _mask_value(key: str, value: Any) -> Any:
    if key.lower() in SECRET_KEYS and value not in (None, ""):
        return MASK
    return mask_data(value)


def mask_data(data: Any) -> Any:
    """A copy of JSON-like data with the values of secret keys replaced, at any depth."""
    if isinstance(data, Mapping):
        return {key: _mask_value(str(key), value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [mask_data(item) for item in data]
    return data


def mask_text(text: str) -> str:
    """A body as text (JSON, form-encoded or anything else) with its secrets masked."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.dumps(mask_data(json.loads(stripped)), ensure_ascii=False)
        except ValueError:
            pass
    elif "=" in stripped and " " not in stripped and "\n" not in stripped:
        pairs = parse_qsl(stripped, keep_blank_values=True)
        if pairs:
            return urlencode([(k, MASK if k.lower() in SECRET_KEYS else v) for k, v in pairs])
    return _SECRET_IN_TEXT.sub(r"\g<key>" + MASK, _BEARER.sub(r"\1" + MASK, text))


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    masked = urlencode([(k, MASK if k.lower() in SECRET_KEYS else v) for k, v in query])
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, masked, ""))


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name: MASK if name.lower() in SECRET_HEADERS else value for name, value in headers.items()
    }


def retry_after_seconds(value: str | None, *, default: float, most: float) -> float:
    """``Retry-After`` as seconds (a number; an HTTP date or nonsense gives ``default``)."""
    try:
        seconds = float(value) if value is not None else default
    except ValueError:
        seconds = default
    if seconds != seconds or seconds < 0:  # NaN or negative
        seconds = default
    return min(seconds, most)


class ApiClient:
    """Base of every provider's client; see the module's docstring for what it does."""

    system = ""
    timeout = httpx.Timeout(15.0, connect=5.0)
    max_attempts = 4
    backoff_base = 0.5  # seconds before the second attempt, doubled each time
    backoff_max = 30.0
    retry_after_default = 1.0  # a 429 without Retry-After
    retry_after_max = 120.0  # a longer Retry-After is cut to this (the task retries later)
    limiter_max_wait = 300.0  # waiting longer than this for a slot raises RateLimited
    # The limiter's window: ``rate_limit`` requests in any this many seconds. A subclass whose
    # provider answers a burst at the edge of its second with 429 widens it a little.
    rate_window = 1.0
    idempotent_methods = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})

    def __init__(
        self,
        connection: Any = None,
        *,
        base_url: str | None = None,
        rate_limit: int | None = None,
        limiter: RateLimiter | None = None,
        max_attempts: int | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.connection = connection
        self.base_url = base_url if base_url is not None else getattr(connection, "base_url", "")
        if max_attempts is not None:
            self.max_attempts = max(1, max_attempts)
        self.limiter = limiter or RateLimiter(
            self.limiter_key(),
            limit=rate_limit or self.configured_rate_limit(),
            window=self.rate_window,
        )
        self.sleep = sleep
        self.http = httpx.Client(
            base_url=self.base_url, timeout=self.timeout, transport=transport, verify=ssl_context()
        )

    # --- What subclasses provide --------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        return {}

    def refresh(self) -> None:
        """Get new credentials after a 401 (store them); raise ``Unauthorized`` if you can't."""
        raise Unauthorized("The credentials were refused and cannot be refreshed.", status=401)

    def after_response(self, request: httpx.Request, response: httpx.Response) -> None:
        """Called with every answer (a provider counts its requests here)."""

    def retry_after_hint(self, response: httpx.Response) -> str | None:
        """How long a 429 asks to wait when it has no ``Retry-After`` header (in its body)."""
        return None

    def limiter_key(self) -> str:
        ident = getattr(self.connection, "pk", None) or self.base_url or "default"
        return f"{self.system or 'http'}:{ident}"

    def configured_rate_limit(self) -> int:
        own = (getattr(self.connection, "settings", None) or {}).get("rate_limit")
        if isinstance(own, int) and not isinstance(own, bool) and own > 0:
            return own
        return int(settings.INTEGRATIONS_RATE_LIMIT)

    # --- Requests -----------------------------------------------------------------------

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        method = method.upper()
        retry_all = method in self.idempotent_methods if idempotent is None else idempotent
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            slot = uuid.uuid4().hex
            try:
                self.limiter.acquire(max_wait=self.limiter_max_wait, slot=slot)
            except TimeoutError as exc:
                raise RateLimited(f"{method} {path}: no request slot in time") from exc
            request = self.http.build_request(
                method,
                path,
                params=params,
                json=json,
                data=data,
                headers={**self.auth_headers(), **(headers or {})},
            )
            self._log_request(request, attempt)
            started = time.monotonic()
            try:
                try:
                    response = self.http.send(request)
                finally:
                    self.limiter.settle(slot)
            except httpx.TimeoutException as exc:
                self._log_failure(request, attempt, exc, started)
                if not retry_all or attempt >= self.max_attempts:
                    raise Timeout(
                        f"{method} {mask_url(str(request.url))}: no answer in time"
                    ) from exc
                self._backoff(attempt)
                continue
            except httpx.TransportError as exc:
                self._log_failure(request, attempt, exc, started)
                never_sent = isinstance(exc, httpx.ConnectError)
                if not (retry_all or never_sent) or attempt >= self.max_attempts:
                    raise ServerError(
                        f"{method} {mask_url(str(request.url))}: {exc.__class__.__name__}"
                    ) from exc
                self._backoff(attempt)
                continue
            self._log_response(request, response, attempt, started)
            self.after_response(request, response)
            status = response.status_code
            if status < 400:
                return response
            if status == 401 and not refreshed:
                refreshed = True
                attempt -= 1  # the refreshed request is not a retry
                self.refresh()
                continue
            error = self._error(request, response)
            if status == 429:
                seconds = retry_after_seconds(
                    response.headers.get("Retry-After") or self.retry_after_hint(response),
                    default=self.retry_after_default,
                    most=self.retry_after_max,
                )
                self.limiter.pause(seconds)
                self.limiter.slow_down()
                if attempt >= self.max_attempts:
                    raise RateLimited(str(error), retry_after=seconds, **self._details(error))
                continue  # the limiter makes this process (and the others) wait
            if status >= 500 and retry_all and attempt < self.max_attempts:
                self._backoff(attempt)
                continue
            raise error

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- Helpers ------------------------------------------------------------------------

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: half to all of ``base * 2^(attempt-1)``."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not a secret)

    def _backoff(self, attempt: int) -> None:
        self.sleep(self.backoff_delay(attempt))

    @staticmethod
    def request_id(response: httpx.Response) -> str:
        for name in ("X-Request-Id", "X-Request-ID", "Request-Id"):
            if name in response.headers:
                return response.headers[name][:100]
        return ""

    def _error(self, request: httpx.Request, response: httpx.Response) -> IntegrationError:
        status = response.status_code
        body = mask_text(response.text[:LOGGED_BODY_CHARS])
        message = f"{request.method} {mask_url(str(request.url))}: HTTP {status}"
        kinds: dict[int, type[IntegrationError]] = {401: Unauthorized, 403: Forbidden}
        kind = kinds.get(status) or (ServerError if status >= 500 else IntegrationError)
        return kind(message, status=status, request_id=self.request_id(response), body=body)

    @staticmethod
    def _details(error: IntegrationError) -> dict[str, Any]:
        return {"status": error.status, "request_id": error.request_id, "body": error.body}

    def _log_request(self, request: httpx.Request, attempt: int) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s %s attempt %s headers=%s body=%s",
                self.system,
                request.method,
                mask_url(str(request.url)),
                attempt,
                mask_headers(request.headers),
                mask_text(request.content.decode("utf-8", "replace")[:LOGGED_BODY_CHARS]),
            )

    def _log_response(
        self, request: httpx.Request, response: httpx.Response, attempt: int, started: float
    ) -> None:
        elapsed = (time.monotonic() - started) * 1000
        level = logging.INFO if response.status_code < 400 else logging.WARNING
        logger.log(
            level,
            "%s %s %s -> %s in %.0f ms (attempt %s)",
            self.system,
            request.method,
            mask_url(str(request.url)),
            response.status_code,
            elapsed,
            attempt,
        )
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s response headers=%s body=%s",
                self.system,
                mask_headers(response.headers),
                mask_text(response.text[:LOGGED_BODY_CHARS]),
            )

    def _log_failure(
        self, request: httpx.Request, attempt: int, exc: Exception, started: float
    ) -> None:
        logger.warning(
            "%s %s %s -> %s after %.0f ms (attempt %s)",
            self.system,
            request.method,
            mask_url(str(request.url)),
            exc.__class__.__name__,
            (time.monotonic() - started) * 1000,
            attempt,
        )
