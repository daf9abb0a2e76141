"""A connected, set-up amoCRM world for tests, scripts and benchmarks: a FakeAmo, the
connection to it, and a loop that runs the sync's moving parts until nothing moves.

``AmoWorld.sync()`` does what the workers do in production, in order: deliver the outbox's
domain events (the handlers queue pushes), push the queue, let the fake send its webhooks
(to ``post``: the Django test client in tests), process the stored webhooks.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clinic import events
from clinic.models import OutboxEvent
from integrations import webhooks
from integrations.amocrm import push
from integrations.amocrm.client import AmoClient
from integrations.amocrm.config import DEFAULT_WEBHOOK_EVENTS, LOST, SYSTEM, WON
from integrations.amocrm.fake import FakeAmo
from integrations.models import Connection, ConnectionStatus, InboundWebhook, WebhookStatus

Poster = Callable[[str, bytes, dict], int]


def default_settings(fake: FakeAmo, client: AmoClient, *, genders: dict[str, str]) -> dict:
    """The settings a clinic's wizard would save for the fake's account."""
    mis = {}
    for entity in ("contacts", "leads"):
        existing = [f for f in client.custom_fields(entity) if f.get("code") == "MIS_ID"]
        if not existing:
            existing = client.create_custom_fields(
                entity, [{"name": "MIS ID", "type": "text", "code": "MIS_ID", "is_api_only": True}]
            )
        mis[entity] = existing[0]["id"]
    stage = fake.status_id
    return {
        "account_id": fake.account_id,
        "subdomain": fake.subdomain,
        "pipeline_id": fake.main_pipeline_id,
        "contact_fields": {
            "mis_id": mis["contacts"],
            "birth_date": fake.field_id("contacts", "Дата рождения"),
            "gender": fake.field_id("contacts", "Пол"),
        },
        "gender_enums": {
            gender_id: fake.enum_id("contacts", "Пол", label)
            for gender_id, label in genders.items()
        },
        "lead_fields": {"mis_id": mis["leads"]},
        "status_to_stage": {
            "planned": stage("Записан"),
            "confirmed": stage("Подтверждён"),
            "arrived": stage("Пришёл"),
            "in_chair": stage("Пришёл"),
            "completed": WON,
            "no_show": stage("Не пришёл"),
            "cancelled": LOST,
        },
        "stage_to_status": {
            str(stage("Записан")): "planned",
            str(stage("Подтверждён")): "confirmed",
            str(stage("Пришёл")): "arrived",
            str(stage("Не пришёл")): "no_show",
            str(stage("Отменён")): "cancelled",
            str(LOST): "cancelled",
            str(WON): "completed",
        },
        "webhook_secret": secrets.token_urlsafe(24),
        "rate_limit": 1000,
        "setup_done": True,
    }


@dataclass
class AmoWorld:
    fake: FakeAmo
    connection: Connection
    post: Poster | None = None
    site: str = "http://testserver"
    rounds: list[dict[str, int]] = field(default_factory=list)

    @classmethod
    def connect(
        cls,
        fake: FakeAmo,
        *,
        genders: dict[str, str] | None = None,
        post: Poster | None = None,
        site: str = "http://testserver",
        **overrides: Any,
    ) -> "AmoWorld":
        connection, _ = Connection.objects.update_or_create(
            system=SYSTEM,
            name="default",
            defaults={"base_url": fake.url, "status": ConnectionStatus.CONNECTED, "settings": {}},
        )
        connection.set_credentials({"kind": "long_lived", "access_token": fake.long_lived_token})
        connection.save()
        with AmoClient(connection) as client:
            settings = default_settings(fake, client, genders=genders or {})
            settings.update(overrides)
            connection.settings = settings
            connection.save(update_fields=["settings"])
        world = cls(fake, connection, post, site)
        with world.client() as client:
            client.webhook_add(world.hook_url, list(DEFAULT_WEBHOOK_EVENTS))
        return world

    @property
    def hook_url(self) -> str:
        secret = self.connection.settings["webhook_secret"]
        return f"{self.site}/integrations/amocrm/hook/{secret}/"

    def client(self) -> AmoClient:
        self.connection.refresh_from_db()
        return AmoClient(self.connection)

    def sync(self, *, max_rounds: int = 10, allow_failures: bool = False) -> None:
        """Run the workers' steps until a round moves nothing. A webhook whose processing
        failed fails the call (a test must not pass over a swallowed error) unless
        ``allow_failures``."""
        for _ in range(max_rounds):
            moved = {"events": 0, "pushed": 0, "webhooks": 0, "processed": 0}
            for event_id in (
                OutboxEvent.objects.filter(dispatched_at__isnull=True, failed_at__isnull=True)
                .values_list("pk", flat=True)
                .order_by("pk")
            ):
                events.dispatch(event_id)
                moved["events"] += 1
            moved["pushed"] = push.push_pending()
            moved["webhooks"] = self.fake.deliver_webhooks(post=self.post)
            for webhook_id in (
                InboundWebhook.objects.filter(system=SYSTEM, status=WebhookStatus.RECEIVED)
                .values_list("pk", flat=True)
                .order_by("pk")
            ):
                webhooks.process(webhook_id)
                moved["processed"] += 1
            self.rounds.append(moved)
            if not allow_failures:
                failed = list(
                    InboundWebhook.objects.filter(
                        system=SYSTEM, status=WebhookStatus.FAILED
                    ).values_list("error", flat=True)[:3]
                )
                if failed:
                    raise AssertionError(f"Webhooks failed: {failed}")
            if not any(moved.values()):
                return
        raise AssertionError(f"The sync did not settle: {self.rounds[-3:]}")
