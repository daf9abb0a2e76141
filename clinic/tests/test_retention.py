"""Retention: delivered events, processed webhooks and expired sessions go after their period."""

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from clinic import retention
from clinic.models import OutboxEvent
from clinic.tasks import retention_purge
from integrations.models import InboundWebhook, WebhookStatus

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def event(**fields) -> OutboxEvent:
    return OutboxEvent.objects.create(name="odontatest.created", **fields)


def webhook(key: str, **fields) -> InboundWebhook:
    return InboundWebhook.objects.create(
        system="probe", dedupe_key=key, body="{}", body_hash=key, **fields
    )


def session(key: str, expires: datetime.datetime) -> Session:
    return Session.objects.create(session_key=key, session_data="", expire_date=expires)


def remaining(model) -> set[int]:
    return set(model.objects.values_list("pk", flat=True))


def test_delivered_events_go_after_their_period_and_undelivered_ones_stay():
    now = timezone.now()
    old = event(dispatched_at=now - 31 * DAY)
    recent = event(dispatched_at=now - 29 * DAY)
    pending = event(attempts=3, next_attempt_at=now)
    failed = event(attempts=12, failed_at=now - 90 * DAY)
    OutboxEvent.objects.filter(pk__in=[pending.pk, failed.pk]).update(created_at=now - 90 * DAY)
    purged = retention_purge()
    assert purged["dispatched_events"] == 1
    assert remaining(OutboxEvent) == {recent.pk, pending.pk, failed.pk}
    assert old.pk not in remaining(OutboxEvent)


def test_processed_webhooks_go_after_their_period_and_unfinished_ones_stay():
    now = timezone.now()
    old = webhook("old", status=WebhookStatus.PROCESSED, processed_at=now - 31 * DAY)
    recent = webhook("recent", status=WebhookStatus.PROCESSED, processed_at=now - DAY)
    failing = webhook("failing", status=WebhookStatus.FAILED, attempts=9)
    received = webhook("received")
    InboundWebhook.objects.filter(pk__in=[failing.pk, received.pk]).update(
        received_at=now - 90 * DAY
    )
    assert retention_purge()["processed_webhooks"] == 1
    assert remaining(InboundWebhook) == {recent.pk, failing.pk, received.pk}
    assert old.pk not in remaining(InboundWebhook)


def test_expired_sessions_go_and_live_ones_stay():
    now = timezone.now()
    session("expired", now - datetime.timedelta(minutes=1))
    session("live", now + DAY)
    assert retention_purge()["expired_sessions"] == 1
    assert set(Session.objects.values_list("session_key", flat=True)) == {"live"}


def test_each_period_is_a_setting(settings):
    now = timezone.now()
    two_days = event(dispatched_at=now - 2 * DAY)
    settings.ODONTA_RETENTION_DAYS = {**settings.ODONTA_RETENTION_DAYS, "dispatched_events": 3}
    assert retention_purge()["dispatched_events"] == 0
    settings.ODONTA_RETENTION_DAYS = {**settings.ODONTA_RETENTION_DAYS, "dispatched_events": 1}
    assert retention_purge()["dispatched_events"] == 1
    assert not OutboxEvent.objects.filter(pk=two_days.pk).exists()


def test_the_defaults_and_the_nightly_beat_entry():
    assert settings.ODONTA_RETENTION_DAYS == {
        "dispatched_events": 30,
        "processed_webhooks": 30,
        "expired_sessions": 0,
        "sync_log_ok": 90,
    }
    entry = settings.CELERY_BEAT_SCHEDULE["retention-purge"]
    assert entry["task"] == retention_purge.name == "clinic.tasks.retention_purge"


def test_every_registered_rule_has_a_period_setting():
    keys = {rule.key for rule in retention.rules()}
    assert {"dispatched_events", "processed_webhooks", "expired_sessions", "sync_log_ok"} <= keys
    missing = keys - set(settings.ODONTA_RETENTION_DAYS)
    assert missing == set(), "Add ODONTA_RETENTION_DAYS entries (config/settings.py)"


def test_a_rule_without_a_valid_period_fails_alone_and_the_others_still_run(settings, caplog):
    now = timezone.now()
    event(dispatched_at=now - 31 * DAY)
    session("expired", now - DAY)
    settings.ODONTA_RETENTION_DAYS = {
        **settings.ODONTA_RETENTION_DAYS,
        "expired_sessions": -1,
    }
    purged = retention_purge()
    assert purged["dispatched_events"] == 1
    assert "expired_sessions" not in purged
    assert "Retention rule expired_sessions failed" in caplog.text
    assert Session.objects.filter(session_key="expired").exists()


def test_rows_go_in_batches(monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(retention, "BATCH_SIZE", 2)
    now = timezone.now()
    for _ in range(5):
        event(dispatched_at=now - 40 * DAY)
    # Three batches of (select ids, delete): 2 + 2 + 1.
    with django_assert_max_num_queries(6):
        deleted = retention.purge_dispatched_events(now - 30 * DAY)
    assert deleted == 5
    assert not OutboxEvent.objects.exists()
