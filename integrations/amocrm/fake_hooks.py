"""The fake account's outgoing webhooks: amoCRM's v2 snapshots, the PHP form encoding,
the per-hook queues, batching, delivery, drops and the auto-disable counter.

Its own encoder on purpose: Odonta's parser (``webhook_format``) must not be tested
against itself. Not thread-safe by itself: ``FakeAmo`` holds the lock while queuing and
taking bodies, and posts them without it (the receiver may call the fake back).
"""

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

# (group, action) of a change -> the code a webhook subscribes with.
EVENT_CODES = {
    ("contacts", "add"): "add_contact",
    ("contacts", "update"): "update_contact",
    ("contacts", "delete"): "delete_contact",
    ("contacts", "restore"): "restore_contact",
    ("contacts", "responsible"): "responsible_contact",
    ("leads", "add"): "add_lead",
    ("leads", "update"): "update_lead",
    ("leads", "delete"): "delete_lead",
    ("leads", "restore"): "restore_lead",
    ("leads", "status"): "status_lead",
    ("leads", "responsible"): "responsible_lead",
}
KNOWN_SETTINGS = frozenset(EVENT_CODES.values()) | {
    f"{verb}_{entity}"
    for verb in ("add", "update", "delete", "restore", "responsible", "note")
    for entity in ("lead", "contact", "company", "task", "customer")
}
HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "amoCRM-Webhooks/3.0"}
TIMEOUT = 2.0  # amoCRM's: an answer later than this is invalid
INVALID_WINDOW = 2 * 3600
INVALID_LIMIT = 100  # more than this many invalid answers in the window disables the hook

Poster = Callable[[str, bytes, dict[str, str]], int]


def http_post(destination: str, body: bytes, headers: dict[str, str]) -> int:
    """The default delivery: a POST with amoCRM's 2 s timeout; no answer is status 0."""
    try:
        return httpx.post(destination, content=body, headers=headers, timeout=TIMEOUT).status_code
    except httpx.HTTPError:
        return 0


# --- v2 snapshots ----------------------------------------------------------------------------


def v2_custom_fields(values: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    result = []
    for entry in values or []:
        kind = entry["field_type"]
        item: dict[str, Any] = {"id": entry["field_id"], "name": entry["field_name"]}
        if entry["field_code"]:
            item["code"] = entry["field_code"]
        if kind in ("date", "date_time", "birthday"):
            item["values"] = [value["value"] for value in entry["values"]]  # bare timestamps
        elif kind == "radiobutton":
            value = entry["values"][0]
            item["values"] = {"value": value["value"], "enum": value["enum_id"]}  # an object
        else:
            item["values"] = [
                {"value": value["value"], "enum": value.get("enum_id")} for value in entry["values"]
            ]
        result.append(item)
    return result


def v2_entity(group: str, action: str, entity: dict[str, Any], extra: dict[str, Any]) -> dict:
    """A contact or deal as a webhook of the v2 API shows it (legacy names)."""
    if action == "delete":
        if group == "leads":
            return {
                "id": entity["id"],
                "status_id": entity["status_id"],
                "pipeline_id": entity["pipeline_id"],
            }
        return {"id": entity["id"], "type": "contact"}
    data: dict[str, Any] = {
        "id": entity["id"],
        "name": entity["name"],
    }
    if group == "leads":
        data["status_id"] = entity["status_id"]
        if "old_status_id" in extra:
            data["old_status_id"] = extra["old_status_id"]
        data["price"] = entity["price"]
    data["responsible_user_id"] = entity["responsible_user_id"]
    if "old_responsible_user_id" in extra:
        data["old_responsible_user_id"] = extra["old_responsible_user_id"]
    data["date_create"] = entity["created_at"]
    data["last_modified"] = entity["updated_at"]
    data["created_user_id"] = entity["created_by"]
    data["modified_user_id"] = entity["updated_by"]
    if group == "leads":
        data["pipeline_id"] = entity["pipeline_id"]
        if "old_pipeline_id" in extra:
            data["old_pipeline_id"] = extra["old_pipeline_id"]
        if entity["loss_reason_id"]:
            data["loss_reason_id"] = entity["loss_reason_id"]
        if entity["closed_at"]:
            data["date_close"] = entity["closed_at"]
    data["account_id"] = entity["account_id"]
    if entity["custom_fields_values"]:
        data["custom_fields"] = v2_custom_fields(entity["custom_fields_values"])
    tags = entity["_embedded"]["tags"]
    if tags:
        data["tags"] = [{"id": tag["id"], "name": tag["name"]} for tag in tags]
    data["created_at"] = entity["created_at"]
    data["updated_at"] = entity["updated_at"]
    if group == "contacts":
        data["type"] = "contact"
    return data


# --- PHP form encoding ---------------------------------------------------------------------


def php_pairs(prefix: str, value: Any) -> list[tuple[str, str]]:
    """``value`` as PHP's http_build_query writes it: nested keys in brackets, all strings."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in php_pairs(f"{prefix}[{key}]", item)]
    if isinstance(value, list | tuple):
        return [
            pair for key, item in enumerate(value) for pair in php_pairs(f"{prefix}[{key}]", item)
        ]
    if isinstance(value, bool):
        return [(prefix, "1" if value else "0")]
    return [(prefix, str(value))]


def encode_body(groups: dict[str, dict[str, list[dict]]], account: dict[str, Any]) -> bytes:
    pairs = [pair for name, actions in groups.items() for pair in php_pairs(name, actions)]
    pairs += php_pairs("account", account)
    return urlencode(pairs).encode()


# --- Queues and delivery ---------------------------------------------------------------------


@dataclass
class Pending:
    webhook_id: int
    group: str
    action: str
    entity_id: int
    data: dict[str, Any]
    queued_at: float = field(default_factory=time.monotonic)


@dataclass
class Body:
    webhook_id: int
    destination: str
    body: bytes
    events: list[tuple[str, str, int]]


class HookOutbox:
    def __init__(self, seed: int) -> None:
        self.webhooks: dict[int, dict[str, Any]] = {}
        self.pending: list[Pending] = []
        self.log: list[dict[str, Any]] = []
        self.batch_size = 10
        self.drop_ratio = 0.0
        self.drop_next = 0
        self._invalid: dict[int, deque[float]] = {}
        self._drop_random = random.Random(seed + 1)  # noqa: S311 (repeatable drops, not secrets)

    def subscribed(self, code: str) -> list[dict[str, Any]]:
        return [w for w in self.webhooks.values() if not w["disabled"] and code in w["settings"]]

    def queue(self, group: str, action: str, data: dict[str, Any]) -> None:
        code = EVENT_CODES.get((group, action), "")
        for webhook in self.subscribed(code):
            self.pending.append(Pending(webhook["id"], group, action, data["id"], data))

    def take(self, account: dict[str, Any]) -> list[Body]:
        """Everything queued, as request bodies: consecutive changes for one hook share a
        body (up to ``batch_size`` entities) unless the same entity repeats in a group."""
        pending, self.pending = self.pending, []
        bodies: list[Body] = []
        open_bodies: dict[int, tuple[dict[str, dict[str, list]], list]] = {}
        order: list[tuple[int, dict, list]] = []
        for item in pending:
            current = open_bodies.get(item.webhook_id)
            key = (item.group, item.action, item.entity_id)
            if current is None or key in current[1] or len(current[1]) >= self.batch_size:
                current = ({}, [])
                open_bodies[item.webhook_id] = current
                order.append((item.webhook_id, current[0], current[1]))
            groups, keys = current
            groups.setdefault(item.group, {}).setdefault(item.action, []).append(item.data)
            keys.append(key)
        for webhook_id, groups, keys in order:
            webhook = self.webhooks.get(webhook_id)
            if webhook is None:
                continue
            bodies.append(
                Body(webhook_id, webhook["destination"], encode_body(groups, account), keys)
            )
        return bodies

    def should_drop(self) -> bool:
        if self.drop_next > 0:
            self.drop_next -= 1
            return True
        return self.drop_ratio > 0 and self._drop_random.random() < self.drop_ratio

    def record(self, body: Body, outcome: str, status: int | None, seconds: float = 0.0) -> None:
        self.log.append(
            {
                "at": time.time(),
                "webhook_id": body.webhook_id,
                "destination": body.destination,
                "body": body.body,
                "events": body.events,
                "outcome": outcome,  # "delivered", "invalid", "dropped", "disabled"
                "status": status,
                "seconds": seconds,
            }
        )
        if outcome != "invalid":
            return
        times = self._invalid.setdefault(body.webhook_id, deque())
        now = time.monotonic()
        times.append(now)
        while times and times[0] < now - INVALID_WINDOW:
            times.popleft()
        webhook = self.webhooks.get(body.webhook_id)
        if webhook is not None and len(times) > INVALID_LIMIT:
            webhook["disabled"] = True

    def reset_invalid(self, webhook_id: int) -> None:
        self._invalid.pop(webhook_id, None)

    def invalid_count(self, webhook_id: int) -> int:
        return len(self._invalid.get(webhook_id, ()))
