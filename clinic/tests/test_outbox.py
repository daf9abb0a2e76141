"""Domain events and the transactional outbox: publish, dispatch, retry, sweep."""

import datetime
import threading

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from clinic import events
from clinic.models import OutboxEvent
from clinic.tasks import outbox_dispatch, outbox_sweep
from clinic.tests.factories import BranchFactory

pytestmark = pytest.mark.django_db


class Recorder:
    """A handler that remembers the events it saw and can be told to fail."""

    def __init__(self, fail_times: int = 0):
        self.seen: list[int] = []
        self.fail_times = fail_times

    def __call__(self, event: OutboxEvent) -> None:
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("the remote system is down")
        self.seen.append(event.pk)


@pytest.fixture
def subscribe():
    """``subscribe("pattern", handler)``; every subscription is removed after the test."""
    handlers = []

    def add(*patterns: str, handler=None, name: str | None = None):
        handler = handler or Recorder()
        # Handlers are told apart by dotted name; give each recorder its own.
        handler.__module__ = __name__
        handler.__qualname__ = name or f"recorder_{len(handlers)}"
        events.subscriber(*patterns)(handler)
        handlers.append(handler)
        return handler

    yield add
    for handler in handlers:
        events.unsubscribe(handler)


def test_an_event_of_a_rolled_back_transaction_is_never_stored_nor_dispatched(
    subscribe, django_capture_on_commit_callbacks
):
    handler = subscribe("odontatest.*")
    branch = BranchFactory()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        events.publish("odontatest.created", branch, {"id": branch.pk})
        raise RuntimeError("the service failed after publishing")
    assert callbacks == []
    assert not OutboxEvent.objects.filter(name="odontatest.created").exists()
    assert handler.seen == []


def test_a_committed_event_is_dispatched_once_even_if_the_task_runs_twice(
    subscribe, django_capture_on_commit_callbacks
):
    handler = subscribe("odontatest.created")
    branch = BranchFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        event = events.publish("odontatest.created", branch, {"id": branch.pk})
    assert len(callbacks) == 1
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert event.attempts == 1
    assert event.aggregate_type == "clinic.branch"
    assert event.aggregate_id == str(branch.pk)
    assert event.delivered_to == [f"{__name__}.recorder_0"]

    outbox_dispatch(event.pk)
    outbox_dispatch.delay(event.pk)
    assert handler.seen == [event.pk]
    event.refresh_from_db()
    assert event.attempts == 1


def test_publish_many_writes_one_row_per_object_and_dispatches_each(
    subscribe, django_capture_on_commit_callbacks
):
    handler = subscribe("odontatest.imported")
    branches = BranchFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=True):
        ids = events.publish_many("odontatest.imported", [(b, {"id": b.pk}) for b in branches])
    assert sorted(handler.seen) == sorted(ids)
    assert OutboxEvent.objects.filter(pk__in=ids, dispatched_at__isnull=False).count() == 3


def test_a_failing_handler_is_retried_by_the_sweep_without_repeating_the_handlers_that_succeeded(
    subscribe, django_capture_on_commit_callbacks
):
    good = subscribe("odontatest.*", name="good")
    flaky = subscribe("odontatest.*", handler=Recorder(fail_times=2), name="flaky")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):
            event = events.publish("odontatest.created", BranchFactory())
        event.refresh_from_db()
        assert event.dispatched_at is None
        assert event.attempts == 1
        assert event.delivered_to == [f"{__name__}.good"]
        assert "the remote system is down" in event.last_error
        assert event.next_attempt_at == start + datetime.timedelta(seconds=30)

        traveller.shift(datetime.timedelta(seconds=35))
        assert outbox_sweep() == 1
        event.refresh_from_db()
        assert event.attempts == 2
        assert event.dispatched_at is None
        # The backoff doubles: 30 s after the first failure, 60 s after the second.
        assert event.next_attempt_at == timezone.now() + datetime.timedelta(seconds=60)

        traveller.shift(datetime.timedelta(seconds=30))  # old enough, but not due yet
        assert outbox_sweep() == 0
        traveller.shift(datetime.timedelta(seconds=31))
        assert outbox_sweep() == 1
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert event.attempts == 3
    assert event.last_error == ""
    assert event.delivered_to == [f"{__name__}.flaky", f"{__name__}.good"]
    assert good.seen == [event.pk]
    assert flaky.seen == [event.pk]


def test_the_retry_delay_doubles_up_to_an_hour():
    delays = [events.retry_delay(attempts).total_seconds() for attempts in (1, 2, 3, 4, 10, 50)]
    assert delays == [30, 60, 120, 240, 3600, 3600]


def test_a_wildcard_subscription_matches_every_event_of_its_prefix_only(subscribe):
    handler = subscribe("patient.*", name="wildcard")
    names = lambda event_name: [name for name, _h in events.handlers_for(event_name)]  # noqa: E731
    assert f"{__name__}.wildcard" in names("patient.created")
    assert f"{__name__}.wildcard" in names("patient.merged")
    assert f"{__name__}.wildcard" not in names("patients.created")
    assert f"{__name__}.wildcard" not in names("appointment.created")
    assert handler.seen == []


def test_a_handler_subscribed_twice_through_two_patterns_runs_once(
    subscribe, django_capture_on_commit_callbacks
):
    handler = subscribe("odontatest.*", "odontatest.created")
    with django_capture_on_commit_callbacks(execute=True):
        event = events.publish("odontatest.created", BranchFactory())
    assert handler.seen == [event.pk]


def test_the_sweep_leaves_fresh_events_to_their_task_and_delivers_old_undelivered_ones(subscribe):
    handler = subscribe("odontatest.*")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        # No on-commit capture: as if the broker was down when the transaction committed.
        event = events.publish("odontatest.created", BranchFactory())
        traveller.shift(datetime.timedelta(seconds=10))
        assert outbox_sweep() == 0
        assert handler.seen == []
        traveller.shift(datetime.timedelta(seconds=21))
        assert outbox_sweep() == 1
    assert handler.seen == [event.pk]
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert outbox_sweep() == 0


def test_publishing_survives_a_broker_outage_and_leaves_the_event_to_the_sweep(
    subscribe, monkeypatch, django_capture_on_commit_callbacks
):
    handler = subscribe("odontatest.*")

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(outbox_dispatch, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        event = events.publish("odontatest.created", BranchFactory())
    assert handler.seen == []
    event.refresh_from_db()
    assert event.dispatched_at is None
    assert event.pk in events.pending_for_sweep(older_than=datetime.timedelta(seconds=0), limit=10)


@pytest.mark.django_db(transaction=True)
def test_a_dispatch_that_finds_the_event_locked_by_another_worker_skips_it(subscribe):
    entered, release = threading.Event(), threading.Event()
    recorder = Recorder()

    def slow_handler(event: OutboxEvent) -> None:
        entered.set()
        assert release.wait(10)
        recorder(event)

    # Published while nobody listens, so the on-commit task has nothing to deliver.
    with transaction.atomic():
        event = events.publish("odontatest.created")
    OutboxEvent.objects.filter(pk=event.pk).update(dispatched_at=None, delivered_to=[])
    subscribe("odontatest.*", handler=slow_handler, name="slow")

    results = {}

    def first_worker():
        try:
            results["first"] = events.dispatch(event.pk)
        finally:
            connection.close()

    worker = threading.Thread(target=first_worker)
    worker.start()
    try:
        assert entered.wait(10), "the first worker never reached the handler"
        results["second"] = events.dispatch(event.pk)  # the row is locked: skipped at once
    finally:
        release.set()
        worker.join(10)
    assert results == {"first": True, "second": False}
    assert recorder.seen == [event.pk]
    assert events.dispatch(event.pk) is False  # and once delivered, never again
    assert recorder.seen == [event.pk]


@pytest.mark.django_db(transaction=True)
def test_a_committed_event_reaches_its_handler_through_a_real_broker_and_worker(
    subscribe, settings
):
    """The one test of the queue itself: Redis as the broker, an embedded Celery worker."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    delivered = threading.Event()
    seen: list[tuple[int, bool]] = []

    def handler(event: OutboxEvent) -> None:
        # The worker runs in its own thread, with its own database connection.
        seen.append((event.pk, threading.current_thread() is threading.main_thread()))
        delivered.set()

    subscribe("odontatest.queued", handler=handler, name="queued")
    assert app.conf.broker_url.startswith("redis://")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with start_worker(app, perform_ping_check=False, shutdown_timeout=20):
            with transaction.atomic():
                event = events.publish("odontatest.queued", payload={"via": "redis"})
                assert not delivered.is_set()
            assert delivered.wait(20), "the worker never delivered the event"
    finally:
        app.conf.task_always_eager = eager
        connection.close()
    assert seen == [(event.pk, False)]
    event.refresh_from_db()
    assert event.dispatched_at is not None


# --- Events that keep failing: a limit, a failed state, a retry ----------------------------


def fail_until_given_up(event, traveller, limit: int) -> None:
    """Let the sweep retry ``event`` until it has had ``limit`` attempts."""
    for _ in range(limit - 1):
        traveller.shift(datetime.timedelta(hours=2))  # past any backoff
        outbox_sweep()
    event.refresh_from_db()


def test_an_event_that_keeps_failing_stops_after_the_limit_and_is_marked_failed(
    subscribe, settings, django_capture_on_commit_callbacks, caplog
):
    settings.ODONTA_OUTBOX_MAX_ATTEMPTS = 3
    good = subscribe("odontatest.*", name="good")
    subscribe("odontatest.*", handler=Recorder(fail_times=100), name="broken")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):
            event = events.publish("odontatest.created", BranchFactory())
        fail_until_given_up(event, traveller, limit=3)
        assert event.attempts == 3
        assert event.failed_at == timezone.now()
        assert event.dispatched_at is None
        assert event.next_attempt_at is None
        assert "the remote system is down" in event.last_error
        assert event.delivered_to == [f"{__name__}.good"]
        assert "gave up" in caplog.text

        # The sweep leaves it alone from now on, and so does a stray task.
        traveller.shift(datetime.timedelta(days=1))
        assert outbox_sweep() == 0
        assert events.dispatch(event.pk) is False
    event.refresh_from_db()
    assert event.attempts == 3
    assert good.seen == [event.pk]
    assert event.pk not in events.pending_for_sweep(older_than=datetime.timedelta(0), limit=10)


def test_a_retried_failed_event_is_delivered_once_its_handler_works_and_the_retry_is_audited(
    subscribe, settings, django_capture_on_commit_callbacks, admin_persona
):
    from clinic.models import AuditEntry

    settings.ODONTA_OUTBOX_MAX_ATTEMPTS = 2
    good = subscribe("odontatest.*", name="good")
    flaky = subscribe("odontatest.*", handler=Recorder(fail_times=2), name="flaky")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):
            event = events.publish("odontatest.created", BranchFactory())
        fail_until_given_up(event, traveller, limit=2)
    assert event.failed_at is not None

    with django_capture_on_commit_callbacks(execute=True):
        retried = events.outbox_retry(event_ids=[event.pk], by=admin_persona.user)
    assert retried == [event.pk]
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert event.failed_at is None
    assert event.last_error == ""
    assert good.seen == [event.pk]  # the handler that had succeeded does not run again
    assert flaky.seen == [event.pk]
    entry = AuditEntry.objects.latest("id")
    assert entry.actor == admin_persona.user
    assert entry.action == "update"
    assert entry.changes == {"retried_events": [None, [event.pk]]}


def test_a_retried_event_that_fails_again_gets_a_new_round_of_attempts(
    subscribe, settings, django_capture_on_commit_callbacks, admin_persona
):
    settings.ODONTA_OUTBOX_MAX_ATTEMPTS = 2
    subscribe("odontatest.*", handler=Recorder(fail_times=100), name="broken")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):
            event = events.publish("odontatest.created", BranchFactory())
        fail_until_given_up(event, traveller, limit=2)
        with django_capture_on_commit_callbacks(execute=True):
            events.outbox_retry(event_ids=[event.pk], by=admin_persona.user)
        event.refresh_from_db()
        assert (event.attempts, event.failed_at) == (1, None)
        assert event.next_attempt_at is not None
        fail_until_given_up(event, traveller, limit=2)
    assert (event.attempts, event.failed_at is not None) == (2, True)


def test_only_failed_events_are_retried(subscribe, admin_persona):
    pending = events.publish("odontatest.created")
    delivered = events.publish("odontatest.created")
    OutboxEvent.objects.filter(pk=delivered.pk).update(dispatched_at=timezone.now())
    assert events.outbox_retry(event_ids=[pending.pk, delivered.pk], by=admin_persona.user) == []
    pending.refresh_from_db()
    assert pending.attempts == 0


def test_the_attempt_limit_is_a_setting_with_a_sane_default():
    from django.conf import settings

    assert settings.ODONTA_OUTBOX_MAX_ATTEMPTS == 12
    # Twelve attempts with the doubling backoff cover about five hours of an outage.
    hours = sum(events.retry_delay(n).total_seconds() for n in range(1, 12)) / 3600
    assert 4 < hours < 6
