"""Django's HTTP requests under ASGI, with the whole middleware chain and the view in one
thread hop.

Every middleware and view of Odonta is synchronous. Django's own ASGI handler builds the
chain for async: the lowest synchronous middleware then calls the async response path
through ``async_to_sync``, which calls the view back through ``sync_to_async``, and each
``process_view`` of the view middleware gets a hop of its own. Each hop waits for the event
loop, so a request crossed it five or six times for nothing (1.5-3 ms of a 20 ms booking at
size L, more under load). Built for sync, the chain runs from its first middleware to the
view in the one worker thread ``sync_to_async`` gives it, as under WSGI; the event loop
still reads the body, sends the response and serves the websockets. The threads are kept
and used again, one request at a time each (``__call__``).
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler

# Idle request threads kept per process; a burst of more requests at once starts more,
# which end after it.
KEPT_THREADS = 8


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        # Idle request threads, the last one used on top. Django gives every request a
        # thread of its own, started for it and ended after it: whatever a thread keeps
        # (its cache client with its Redis connections, the database wrapper, compiled
        # queries) was made again for each request, a few milliseconds of every page. A
        # thread here serves one request at a time, and many in turn.
        self._idle_threads: list[ThreadPoolExecutor] = []

    async def __call__(self, scope, receive, send) -> None:
        # Only the event loop's thread takes and returns threads: no lock is needed.
        thread = (
            self._idle_threads.pop()
            if self._idle_threads
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="odonta-request")
        )
        try:
            # Django's own __call__ (which Sentry wraps) opens a ThreadSensitiveContext of
            # its own; inside this one, that one adds nothing, and the request's sync code
            # runs in the kept thread.
            async with ThreadSensitiveContext(executor=thread):
                await super().__call__(scope, receive, send)
        finally:
            if len(self._idle_threads) < KEPT_THREADS:
                self._idle_threads.append(thread)
            else:  # a burst is over: its extra threads end, as Django's would
                thread.shutdown(wait=False)

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        chain: Callable = self._middleware_chain  # type: ignore[has-type]
        # thread_sensitive: the same thread as every other sync_to_async call of the
        # request (the request_started and request_finished signals, response.close), so
        # that the database connection and the thread-locals stay one.
        self._middleware_chain = sync_to_async(chain, thread_sensitive=True)


def get_asgi_application() -> SyncChainASGIHandler:
    """As ``django.core.asgi.get_asgi_application``, with the handler above."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
