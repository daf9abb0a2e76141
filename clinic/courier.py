"""Post-commit deliveries that need not hold up the response: a live update to the pages
that show a change, the nudge that makes a worker dispatch an outbox event.

Each costs a few round trips to Redis (a live update is several per topic), which a request
would otherwise wait for after its own work is committed. With
``settings.ODONTA_COURIER_THREAD`` on (production), ``deliver`` hands them to one
background thread per process, which keeps its own event loop (and so its own Redis
connections for the channel layer) and runs them in the order they came. Off (tests, the
quickstart), they run at once, in the caller's thread.

Losing one is harmless by design: a live update is a courtesy (a page also refreshes when
it is opened), and an outbox event that no worker was told about is picked up by the
sweep. So a full queue drops, and a failure is logged, never raised.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

Delivery = Callable[[], Any]  # a plain call, or one that returns a coroutine to run

QUEUE_SIZE = 10_000
_STOP = object()


class Courier:
    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def deliver(self, delivery: Delivery) -> None:
        if not settings.ODONTA_COURIER_THREAD:
            _run(delivery, loop=None)
            return
        self._ensure_running()
        try:
            self._queue.put_nowait(delivery)
        except queue.Full:
            logger.warning("The courier's queue is full; a post-commit delivery is dropped")

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until everything handed over so far is delivered (shutdown, tests)."""
        if self._thread is None or not self._thread.is_alive():
            return True
        done = threading.Event()
        try:
            self._queue.put(done.set, timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def _ensure_running(self) -> None:
        # A forked worker inherits the object but not the thread: start one of its own.
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._queue = queue.Queue(maxsize=QUEUE_SIZE)
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._work, args=(self._queue,), name="odonta-courier", daemon=True
                )
                self._thread.start()

    @staticmethod
    def _work(deliveries: queue.Queue) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        while (delivery := deliveries.get()) is not _STOP:
            _run(delivery, loop=loop)


def _run(delivery: Delivery, *, loop: asyncio.AbstractEventLoop | None) -> None:
    try:
        result = delivery()
        if isinstance(result, Coroutine):
            _await(result, loop)
    except Exception:
        logger.warning("A post-commit delivery failed", exc_info=True)


def _await(coroutine: Coroutine, loop: asyncio.AbstractEventLoop | None) -> None:
    if loop is not None:
        loop.run_until_complete(coroutine)
        return
    from asgiref.sync import async_to_sync

    async def run() -> None:
        await coroutine

    async_to_sync(run)()


courier = Courier()
deliver = courier.deliver
drain = courier.drain
atexit.register(drain, 2.0)
