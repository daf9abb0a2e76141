"""The courier: post-commit deliveries in one background thread, in order, never raising."""

import threading

import pytest

from clinic.courier import Courier


@pytest.fixture
def threaded(settings):
    settings.ODONTA_COURIER_THREAD = True
    return Courier()


def test_off_it_delivers_at_once_in_the_callers_thread(settings):
    settings.ODONTA_COURIER_THREAD = False
    threads = []
    Courier().deliver(lambda: threads.append(threading.current_thread()))
    assert threads == [threading.current_thread()]


def test_on_it_delivers_in_its_own_thread_in_the_order_given(threaded):
    seen = []
    for number in range(50):
        threaded.deliver(lambda number=number: seen.append((number, threading.current_thread())))
    assert threaded.drain()
    assert [number for number, _thread in seen] == list(range(50))
    assert {thread.name for _number, thread in seen} == {"odonta-courier"}


def test_a_coroutine_is_run_on_the_couriers_event_loop(threaded):
    seen = []

    async def send():
        seen.append("sent")

    threaded.deliver(send)
    assert threaded.drain()
    assert seen == ["sent"]


def test_a_failure_is_logged_and_the_next_delivery_still_goes(threaded, caplog):
    seen = []

    def fail():
        raise ConnectionError("redis is down")

    threaded.deliver(fail)
    threaded.deliver(lambda: seen.append("next"))
    assert threaded.drain()
    assert seen == ["next"]
    assert "A post-commit delivery failed" in caplog.text


def test_a_full_queue_drops_instead_of_blocking_the_request(threaded, monkeypatch, caplog):
    monkeypatch.setattr("clinic.courier.QUEUE_SIZE", 1)
    gate = threading.Event()
    threaded.deliver(gate.wait)  # the thread is busy with this one
    threaded.deliver(lambda: None)  # queued
    threaded.deliver(lambda: None)  # no room: dropped, at once
    gate.set()
    assert threaded.drain()
    assert "queue is full" in caplog.text
