"""Inbound webhooks: verify, store, answer 200 at once, process in a task, exactly once.

A provider module registers itself:

    register(WebhookProvider(
        system="amocrm",
        verify=lambda request, body: hmac.compare_digest(...),
        event_id=lambda request, body: request.headers.get("X-Event-Id"),
        process=process_amocrm_webhook,
    ))

and receives its requests at ``/integrations/<system>/webhook/``.
"""

import datetime
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from integrations.models import InboundWebhook, WebhookStatus

logger = logging.getLogger(__name__)

# Headers worth keeping with the body (signatures, event ids); cookies never.
KEPT_HEADERS = ("content-type", "user-agent", "x-", "signature")


@dataclass(frozen=True)
class WebhookProvider:
    system: str
    verify: Callable[[HttpRequest, bytes], bool]
    process: Callable[[InboundWebhook], None]
    event_id: Callable[[HttpRequest, bytes], str | None] = lambda request, body: None
    event_type: Callable[[HttpRequest, bytes], str] = lambda request, body: ""


_providers: dict[str, WebhookProvider] = {}


def register(provider: WebhookProvider) -> None:
    _providers[provider.system] = provider


def unregister(system: str) -> None:
    _providers.pop(system, None)


def get_provider(system: str) -> WebhookProvider | None:
    return _providers.get(system)


def webhook_receive(
    *, provider: WebhookProvider, request: HttpRequest
) -> tuple[InboundWebhook, bool]:
    """Store a verified request; returns (row, created). A repeat returns the first row."""
    body = request.body
    body_hash = hashlib.sha256(body).hexdigest()
    event_id = provider.event_id(request, body)
    dedupe_key = f"id:{event_id}" if event_id else f"sha256:{body_hash}"
    if len(dedupe_key) > 200:  # an unusually long provider id still fits, still unique
        dedupe_key = "idsha256:" + hashlib.sha256(str(event_id).encode()).hexdigest()
    headers = {
        name: value
        for name, value in request.headers.items()
        if any(name.lower().startswith(prefix) for prefix in KEPT_HEADERS)
    }
    try:
        with transaction.atomic():
            webhook = InboundWebhook.objects.create(
                system=provider.system,
                dedupe_key=dedupe_key,
                event_type=provider.event_type(request, body)[:100],
                headers=headers,
                body=body.decode("utf-8", errors="replace"),
                body_hash=body_hash,
            )
            transaction.on_commit(lambda: _enqueue(webhook.pk))
    except IntegrityError:
        return InboundWebhook.objects.get(system=provider.system, dedupe_key=dedupe_key), False
    return webhook, True


def _enqueue(webhook_id: int) -> None:
    from clinic import jobs
    from integrations.tasks import webhook_process

    try:
        # The quickstart runs it in a thread: the provider's request is answered at once.
        jobs.start_now(webhook_process, webhook_id)
    except Exception:
        logger.warning("Could not enqueue webhook %s; the sweep will retry", webhook_id)


def process(webhook_id: int) -> bool:
    """Run the provider's processing once; True when the webhook ends up processed."""
    with transaction.atomic():
        webhook = (
            InboundWebhook.objects.select_for_update(skip_locked=True)
            .filter(pk=webhook_id)
            .exclude(status=WebhookStatus.PROCESSED)
            .first()
        )
        if webhook is None:
            return False
        provider = get_provider(webhook.system)
        webhook.attempts += 1
        try:
            if provider is None:
                raise LookupError(f"No webhook provider {webhook.system!r} is registered")
            with transaction.atomic():
                provider.process(webhook)
        except Exception as exc:
            logger.exception("Webhook %s failed", webhook)
            webhook.status = WebhookStatus.FAILED
            webhook.error = repr(exc)[:5000]
            delay = min(60 * 2 ** (webhook.attempts - 1), 6 * 3600)
            webhook.next_attempt_at = timezone.now() + datetime.timedelta(seconds=delay)
        else:
            webhook.status = WebhookStatus.PROCESSED
            webhook.processed_at = timezone.now()
            webhook.error = ""
        webhook.save(
            update_fields=["attempts", "status", "error", "next_attempt_at", "processed_at"]
        )
        return webhook.status == WebhookStatus.PROCESSED


def pending_for_sweep(*, limit: int) -> list[int]:
    now = timezone.now()
    return list(
        InboundWebhook.objects.exclude(status=WebhookStatus.PROCESSED)
        .filter(received_at__lte=now - datetime.timedelta(seconds=60))
        .exclude(next_attempt_at__gt=now)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
