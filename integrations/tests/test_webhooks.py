"""Inbound webhooks: verify, store, answer at once, process once, retry with backoff."""

import datetime
import hashlib
import hmac
import json

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations import webhooks
from integrations.models import InboundWebhook, WebhookStatus
from integrations.tasks import webhook_process, webhooks_sweep

pytestmark = pytest.mark.django_db

SECRET = b"test-webhook-secret"
URL = reverse("integrations:webhook", args=["testpay"])


def sign(body: bytes) -> str:
    return hmac.new(SECRET, body, hashlib.sha256).hexdigest()


class Processor:
    def __init__(self, fail_times: int = 0):
        self.processed: list[int] = []
        self.fail_times = fail_times

    def __call__(self, webhook: InboundWebhook) -> None:
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("the clinic's CRM is down")
        self.processed.append(webhook.pk)


@pytest.fixture
def provider():
    """A provider registered for the test only: HMAC signature, optional event id."""
    processor = Processor()
    webhooks.register(
        webhooks.WebhookProvider(
            system="testpay",
            verify=lambda request, body: hmac.compare_digest(
                request.headers.get("X-Signature", ""), sign(body)
            ),
            process=lambda webhook: processor(webhook),
            event_id=lambda request, body: request.headers.get("X-Event-Id"),
            event_type=lambda request, body: json.loads(body).get("type", ""),
        )
    )
    yield processor
    webhooks.unregister("testpay")


def deliver(client, payload: dict, *, event_id: str | None = None, signature: str | None = None):
    body = json.dumps(payload).encode()
    headers = {"HTTP_X_SIGNATURE": signature if signature is not None else sign(body)}
    if event_id:
        headers["HTTP_X_EVENT_ID"] = event_id
    return client.post(URL, body, content_type="application/json", **headers)


def test_a_bad_signature_is_refused_and_nothing_is_stored(client, provider):
    response = deliver(client, {"type": "payment"}, signature="forged")
    assert response.status_code == 403
    assert response.json() == {"ok": False, "error": "signature"}
    response = deliver(client, {"type": "payment"}, signature="")
    assert response.status_code == 403
    assert not InboundWebhook.objects.exists()
    assert provider.processed == []


def test_a_good_delivery_is_stored_answered_and_processed_once(
    client, provider, django_capture_on_commit_callbacks
):
    client.cookies["sessionid"] = "not-for-the-log"
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, {"type": "payment.succeeded", "sum": "100.00"}, event_id="ev-1")
    assert response.status_code == 200
    webhook = InboundWebhook.objects.get()
    assert response.json() == {"ok": True, "id": webhook.pk, "duplicate": False}
    assert webhook.system == "testpay"
    assert webhook.dedupe_key == "id:ev-1"
    assert webhook.event_type == "payment.succeeded"
    assert json.loads(webhook.body) == {"type": "payment.succeeded", "sum": "100.00"}
    assert webhook.headers["X-Event-Id"] == "ev-1"
    assert "Cookie" not in webhook.headers
    assert webhook.status == WebhookStatus.PROCESSED
    assert webhook.attempts == 1
    assert webhook.processed_at is not None
    assert provider.processed == [webhook.pk]

    webhook_process(webhook.pk)  # a second run of the task changes nothing
    assert provider.processed == [webhook.pk]


def test_webhooks_need_no_csrf_token_and_no_session(provider):
    client = Client(enforce_csrf_checks=True)
    assert deliver(client, {"type": "payment"}).status_code == 200


def test_the_same_event_id_again_is_a_duplicate_and_not_processed_again(
    client, provider, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = deliver(client, {"type": "payment", "try": 1}, event_id="ev-7")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = deliver(client, {"type": "payment", "try": 2}, event_id="ev-7")
    assert again.status_code == 200
    assert again.json() == {"ok": True, "id": first.json()["id"], "duplicate": True}
    assert callbacks == []
    assert InboundWebhook.objects.count() == 1
    assert len(provider.processed) == 1


def test_without_an_event_id_the_same_body_is_a_duplicate(
    client, provider, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = deliver(client, {"type": "payment", "n": 1})
        again = deliver(client, {"type": "payment", "n": 1})
        other = deliver(client, {"type": "payment", "n": 2})
    assert again.json()["duplicate"] is True
    assert again.json()["id"] == first.json()["id"]
    assert other.json()["duplicate"] is False
    body_hash = hashlib.sha256(json.dumps({"type": "payment", "n": 1}).encode()).hexdigest()
    assert InboundWebhook.objects.get(pk=first.json()["id"]).dedupe_key == f"sha256:{body_hash}"
    assert len(provider.processed) == 2


def test_an_unknown_system_is_not_found(client):
    response = client.post(
        reverse("integrations:webhook", args=["nobody"]), b"{}", content_type="application/json"
    )
    assert response.status_code == 404
    assert not InboundWebhook.objects.exists()


def test_webhooks_are_post_only(client, provider):
    assert client.get(URL).status_code == 405


def test_a_failing_processor_is_retried_by_the_sweep_with_backoff_until_it_succeeds(
    client, provider, django_capture_on_commit_callbacks
):
    provider.fail_times = 2
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):
            assert deliver(client, {"type": "payment"}, event_id="ev-9").status_code == 200
        webhook = InboundWebhook.objects.get()
        assert webhook.status == WebhookStatus.FAILED
        assert webhook.attempts == 1
        assert "CRM is down" in webhook.error
        assert webhook.next_attempt_at == start + datetime.timedelta(seconds=60)

        traveller.shift(datetime.timedelta(seconds=30))
        assert webhooks_sweep() == 0  # too fresh and not due

        traveller.shift(datetime.timedelta(seconds=31))
        assert webhooks_sweep() == 1
        webhook.refresh_from_db()
        assert (webhook.status, webhook.attempts) == (WebhookStatus.FAILED, 2)
        assert webhook.next_attempt_at == timezone.now() + datetime.timedelta(seconds=120)

        traveller.shift(datetime.timedelta(seconds=60))
        assert webhooks_sweep() == 0  # not due yet: the delay doubled
        traveller.shift(datetime.timedelta(seconds=61))
        assert webhooks_sweep() == 1
        traveller.shift(datetime.timedelta(hours=1))
        assert webhooks_sweep() == 0  # processed ones are never picked up again
    webhook.refresh_from_db()
    assert webhook.status == WebhookStatus.PROCESSED
    assert webhook.attempts == 3
    assert webhook.error == ""
    assert provider.processed == [webhook.pk]


def test_the_sweep_picks_up_a_webhook_whose_task_never_ran(client, provider):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        deliver(client, {"type": "payment"})  # no on-commit: as if the broker was down
        assert webhooks_sweep() == 0
        traveller.shift(datetime.timedelta(seconds=61))
        assert webhooks_sweep() == 1
    assert InboundWebhook.objects.get().status == WebhookStatus.PROCESSED


def test_a_webhook_of_a_provider_that_is_gone_fails_instead_of_vanishing(client, provider):
    deliver(client, {"type": "payment"})
    webhook = InboundWebhook.objects.get()
    webhooks.unregister("testpay")
    assert webhooks.process(webhook.pk) is False
    webhook.refresh_from_db()
    assert webhook.status == WebhookStatus.FAILED
    assert "No webhook provider" in webhook.error


def test_the_backoff_is_capped_at_six_hours(client, provider):
    provider.fail_times = 100
    deliver(client, {"type": "payment"})
    webhook = InboundWebhook.objects.get()
    InboundWebhook.objects.filter(pk=webhook.pk).update(attempts=20)
    before = timezone.now()
    webhooks.process(webhook.pk)
    webhook.refresh_from_db()
    delay = webhook.next_attempt_at - before
    assert datetime.timedelta(hours=6) <= delay < datetime.timedelta(hours=6, seconds=5)
