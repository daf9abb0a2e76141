"""The fake-server pattern: a provider's API as a small web app on loopback, for tests and demos.

A provider's fake (``integrations/<system>/fake.py``) subclasses ``FakeServer`` and answers
in ``handle``:

    class FakeCrm(FakeServer):
        def handle(self, request: FakeRequest) -> FakeResponse:
            if request.method == "GET" and request.path == "/api/contacts":
                return FakeResponse.json({"contacts": [...]})
            return FakeResponse.json({"detail": "not found"}, status=404)

    with FakeCrm() as fake:          # or the ``fake_server`` fixture of the tests
        client = CrmClient(base_url=fake.url)
        fake.fail_next(429, retry_after=1)   # the next request gets a 429
        ...
        assert fake.journal[-1].path == "/api/contacts"

Switches (each for the next ``times`` requests, in the order they were set): ``fail_next``
(any status, 429 with ``Retry-After``), ``delay_next`` (answer after sleeping, longer than
the client's timeout to make a timeout), ``drop_next`` (close the connection unanswered).
Every request, switched or not, lands in ``journal`` (method, path, query, headers, body).
It is a plain ``http.server`` in a thread: no dependency, any number at once (port 0).
"""

import json
import logging
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)


@dataclass
class FakeRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)


@dataclass
class FakeResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None):
        return cls(
            status,
            json.dumps(data, ensure_ascii=False).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )


@dataclass
class _Switch:
    kind: str  # "status", "delay", "drop"
    times: int
    status: int = 500
    retry_after: str | None = None
    seconds: float = 0.0


class FakeServer:
    """Serves ``handle`` on ``127.0.0.1:<free port>`` in a daemon thread."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.journal: list[FakeRequest] = []
        self._switches: deque[_Switch] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- What a provider's fake provides --------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse.json({"ok": True, "path": request.path})

    # --- Switches -------------------------------------------------------------------------

    def fail_next(self, status: int, *, times: int = 1, retry_after: float | str | None = None):
        value = None if retry_after is None else str(retry_after)
        self._push(_Switch("status", times, status=status, retry_after=value))

    def delay_next(self, seconds: float, *, times: int = 1) -> None:
        self._push(_Switch("delay", times, seconds=seconds))

    def drop_next(self, *, times: int = 1) -> None:
        self._push(_Switch("drop", times))

    def clear_switches(self) -> None:
        with self._lock:
            self._switches.clear()

    def _push(self, switch: _Switch) -> None:
        with self._lock:
            self._switches.append(switch)

    def _take_switch(self) -> _Switch | None:
        with self._lock:
            if not self._switches:
                return None
            switch = self._switches[0]
            switch.times -= 1
            if switch.times <= 0:
                self._switches.popleft()
            return switch

    # --- Running ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> "FakeServer":
        self._server = ThreadingHTTPServer((self.host, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        request = FakeRequest(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=handler.rfile.read(length) if length else b"",
        )
        with self._lock:
            self.journal.append(request)
        switch = self._take_switch()
        if switch is not None and switch.kind == "drop":
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if switch is not None and switch.kind == "delay":
            time.sleep(switch.seconds)
        if switch is not None and switch.kind == "status":
            headers = {"Retry-After": switch.retry_after} if switch.retry_after else {}
            response = FakeResponse.json(
                {"status": switch.status, "title": "injected"}, switch.status, headers
            )
        else:
            try:
                response = self.handle(request)
            except Exception as error:  # a fake's bug answers 500, not a dropped connection
                logger.exception(
                    "%s failed on %s %s", type(self).__name__, request.method, request.path
                )
                response = FakeResponse.json({"status": 500, "title": repr(error)}, 500)
        try:
            handler.send_response(response.status)
            for name, value in response.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(response.body)))
            handler.end_headers()
            if response.body and handler.command != "HEAD":
                handler.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): nothing to answer


def _handler_for(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without this, Nagle's algorithm holds
        # the body back ~40 ms on every keep-alive request.
        disable_nagle_algorithm = True

        def _any(self) -> None:
            fake._serve(self)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the journal is the log

    return Handler
