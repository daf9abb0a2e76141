"""/healthz: the database and Redis, the Celery workers' heartbeat and the outbox's backlog."""

import datetime

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from clinic.models import OutboxEvent
from clinic.tasks import worker_heartbeat

pytestmark = pytest.mark.django_db

URL = "/healthz"


@pytest.fixture
def with_workers(settings):
    """As in production: tasks go to a broker, and workers are expected to beat."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    return settings


def pending_event(age: datetime.timedelta, **fields) -> OutboxEvent:
    event = OutboxEvent.objects.create(name="odontatest.created", **fields)
    OutboxEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - age)
    return event


def test_healthz_reports_every_check_when_all_is_well(client, with_workers):
    worker_heartbeat()
    response = client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "database": "ok",
        "redis": "ok",
        "workers": "ok",
        "worker_heartbeat_age": body["worker_heartbeat_age"],
        "outbox": "ok",
        "outbox_oldest_pending_age": None,
        "outbox_failed": 0,
        "status": "ok",
    }
    assert 0 <= body["worker_heartbeat_age"] < 5


def test_without_a_heartbeat_the_workers_are_reported_down(client, with_workers):
    response = client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["workers"] == "error: no heartbeat"
    assert body["worker_heartbeat_age"] is None
    assert body["status"] == "error"


def test_a_stale_heartbeat_means_the_workers_stopped(client, with_workers):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        worker_heartbeat()
        traveller.shift(datetime.timedelta(seconds=with_workers.ODONTA_HEALTH_WORKER_MAX_AGE - 1))
        assert client.get(URL).status_code == 200
        traveller.shift(datetime.timedelta(seconds=2))
        response = client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["workers"].startswith("error: last heartbeat")
    assert body["worker_heartbeat_age"] == with_workers.ODONTA_HEALTH_WORKER_MAX_AGE + 1


def test_without_a_broker_there_are_no_workers_to_check(client):
    # The quickstart and the tests run tasks in the web process (CELERY_TASK_ALWAYS_EAGER).
    body = client.get(URL).json()
    assert body["workers"] == "not configured"
    assert body["worker_heartbeat_age"] is None
    assert body["status"] == "ok"


def test_an_old_pending_event_means_the_outbox_is_stuck(client, with_workers):
    worker_heartbeat()
    limit = with_workers.ODONTA_HEALTH_OUTBOX_MAX_AGE
    # Events are numbered as they are published: the first pending one is the oldest.
    oldest = pending_event(datetime.timedelta(seconds=limit - 60))
    pending_event(datetime.timedelta(seconds=5))
    assert client.get(URL).status_code == 200
    OutboxEvent.objects.filter(pk=oldest.pk).update(
        created_at=timezone.now() - datetime.timedelta(seconds=limit + 60)
    )
    response = client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["outbox"].startswith("error: the oldest pending event waits")
    assert limit + 55 < body["outbox_oldest_pending_age"] < limit + 70


def test_failed_and_delivered_events_are_not_pending_and_failed_ones_are_counted(client):
    old = datetime.timedelta(days=2)
    pending_event(old, failed_at=timezone.now(), attempts=12)
    pending_event(old, dispatched_at=timezone.now())
    response = client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["outbox_oldest_pending_age"] is None
    assert body["outbox_failed"] == 1


def test_the_web_scope_checks_only_what_a_web_process_needs(client, with_workers):
    """For load balancers: a stopped worker must not take the web servers out of rotation."""
    pending_event(datetime.timedelta(days=1))
    response = client.get(URL, {"scope": "web"})
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok", "status": "ok"}


def test_healthz_stays_cheap(client, with_workers, django_assert_num_queries):
    for _ in range(50):
        pending_event(datetime.timedelta(seconds=5))
    worker_heartbeat()
    # SELECT 1, the oldest pending event, the count of failed ones; no session, no user.
    with django_assert_num_queries(3):
        assert client.get(URL).status_code == 200
    with django_assert_num_queries(1):
        client.get(URL, {"scope": "web"})


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_the_outbox_checks_read_partial_indexes():
    from clinic import health

    def plan(queryset) -> str:
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())

    assert "outbox_pending_idx" in plan(health.pending_events()[:1])
    assert "outbox_failed_idx" in plan(OutboxEvent.objects.filter(failed_at__isnull=False))


def test_a_periodic_task_beats_for_the_workers():
    entry = django_settings.CELERY_BEAT_SCHEDULE["worker-heartbeat"]
    assert entry["task"] == worker_heartbeat.name
    # A heartbeat queued while the workers were down is dropped, not delivered late.
    assert entry["options"]["expire_seconds"] <= entry["schedule"]
    assert entry["schedule"] * 3 <= django_settings.ODONTA_HEALTH_WORKER_MAX_AGE
