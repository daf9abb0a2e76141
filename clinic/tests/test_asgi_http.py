"""HTTP under ASGI (clinic/asgi_http.py): the middleware chain and the view run in one
thread hop, a request still gets its full answer, and request threads are used again."""

import asyncio
import threading

import pytest
from asgiref.sync import AsyncToSync, SyncToAsync
from asgiref.testing import ApplicationCommunicator
from django.http import HttpResponse
from django.test import override_settings
from django.urls import path

from config.asgi import application

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def probe(request):
    return HttpResponse("probe", headers={"X-Probe": "1"})


def thread_id(request):
    return HttpResponse(str(threading.get_ident()))


released = threading.Event()


def wait(request):
    """Answers once ``release`` has run: only if the two run in threads of their own."""
    ok = released.wait(5)
    return HttpResponse(f"{threading.get_ident()} {ok}")


def release(request):
    released.set()
    return HttpResponse(str(threading.get_ident()))


urlpatterns = [
    path("probe/", probe),
    path("thread/", thread_id),
    path("wait/", wait),
    path("release/", release),
]


def scope(path_: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path_,
        "raw_path": path_.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "headers": [(b"host", b"testserver")],
    }


async def get(path_: str) -> tuple[dict, bytes]:
    communicator = ApplicationCommunicator(application, scope(path_))
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(10)
    body = await communicator.receive_output(10)
    await communicator.wait(10)
    return start, body["body"]


@pytest.fixture
def hops(monkeypatch):
    counted = {"async_to_sync": 0, "sync_to_async": 0}
    async_to_sync_call = AsyncToSync.__call__
    sync_to_async_call = SyncToAsync.__call__

    def counting_async_to_sync(self, *args, **kwargs):
        counted["async_to_sync"] += 1
        return async_to_sync_call(self, *args, **kwargs)

    async def counting_sync_to_async(self, *args, **kwargs):
        counted["sync_to_async"] += 1
        return await sync_to_async_call(self, *args, **kwargs)

    monkeypatch.setattr(AsyncToSync, "__call__", counting_async_to_sync)
    monkeypatch.setattr(SyncToAsync, "__call__", counting_sync_to_async)
    return counted


async def test_a_page_crosses_into_the_worker_thread_once_for_its_whole_chain(hops):
    start, body = await get("/healthz")
    assert start["status"] == 200, body
    assert hops["async_to_sync"] == 0
    # The request_started signal, the chain with the view, and response.close (which sends
    # request_finished): three, whatever the number of middleware.
    assert hops["sync_to_async"] == 3


async def test_a_view_answers_whole_through_the_handler(hops):
    with override_settings(ROOT_URLCONF=__name__):
        start, body = await get("/probe/")
    assert start["status"] == 200
    assert body == b"probe"
    assert (b"X-Probe", b"1") in start["headers"]
    assert hops["async_to_sync"] == 0


async def test_requests_one_after_another_use_the_same_kept_thread():
    with override_settings(ROOT_URLCONF=__name__):
        answers = [(await get("/thread/"))[1] for _ in range(3)]
    assert len(set(answers)) == 1
    assert int(answers[0]) != threading.get_ident()  # not the event loop's thread


async def test_requests_at_the_same_time_get_threads_of_their_own():
    released.clear()
    with override_settings(ROOT_URLCONF=__name__):
        waiting = asyncio.ensure_future(get("/wait/"))
        await asyncio.sleep(0.2)  # the first request is in its view, waiting
        _, releasing = await get("/release/")
        _, waited = await waiting
    thread, ok = waited.decode().split()
    assert ok == "True"
    assert thread != releasing.decode()


async def test_threads_beyond_the_kept_number_end_after_a_burst(monkeypatch):
    from clinic import asgi_http

    handler = application.application_mapping["http"]
    monkeypatch.setattr(asgi_http, "KEPT_THREADS", 1)
    handler._idle_threads.clear()
    released.clear()
    with override_settings(ROOT_URLCONF=__name__):
        waiting = asyncio.ensure_future(get("/wait/"))
        await asyncio.sleep(0.2)
        await get("/release/")
        await waiting
    assert len(handler._idle_threads) == 1
