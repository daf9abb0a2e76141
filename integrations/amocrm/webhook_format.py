"""amoCRM's account webhooks as Odonta reads them.

amoCRM posts ``application/x-www-form-urlencoded`` bodies with PHP bracket keys and the
legacy v2 names (``leads[status][0][status_id]=142``, ``custom_fields``, ``last_modified``,
``modified_user_id``...), several entities and groups in one body, all values strings:

    hook = parse_webhook(request.body.decode())
    hook.account_id, hook.subdomain          # check them against the connection
    for event in hook.events:                # AmoEvent("lead", "status", 25399013, {...})
        ...

``parse_brackets`` turns the body into nested dicts and lists the way PHP's ``$_POST``
would; ``parse_webhook`` makes typed events of it, with ids, stages, users and times as
ints and ``custom_fields`` in one shape whatever amoCRM sent. Hostile input never raises
(junk keys are skipped, sizes are capped) except a body that is not form-encoded at all:
``ValueError``.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

MAX_FIELDS = 50_000  # key=value pairs read from one body; the rest is ignored
MAX_INDEX = 10_000  # a larger numeric key is kept as a plain key, not a list position
MAX_DEPTH = 16  # brackets in one key; a deeper key is skipped
MAX_EVENTS = 1_000  # entities taken from one body

_INDEX = re.compile(r"0|[1-9][0-9]{0,4}")  # canonical, so "01" stays a key (as in PHP)
_INT = re.compile(r"\s*(-?[0-9]{1,18})(?:\.[0-9]*)?\s*")

# v2 names whose values are numbers (ids, stages, users, Unix times, the price).
INT_KEYS = frozenset(
    {
        "id",
        "account_id",
        "status_id",
        "old_status_id",
        "pipeline_id",
        "old_pipeline_id",
        "responsible_user_id",
        "old_responsible_user_id",
        "created_user_id",
        "modified_user_id",
        "created_by",
        "updated_by",
        "date_create",
        "last_modified",
        "created_at",
        "updated_at",
        "date_close",
        "closed_at",
        "price",
        "loss_reason_id",
        "group_id",
        "linked_company_id",
        "main_contact_id",
        "company_id",
        "contact_id",
        "element_id",
        "element_type",
        "note_type",
        "task_type",
        "complete_before",
    }
)
# Group key -> entity. Unknown groups keep their own name.
ENTITIES = {
    "leads": "lead",
    "contacts": "contact",
    "companies": "company",
    "company": "company",
    "task": "task",
    "tasks": "task",
    "customers": "customer",
    "unsorted": "unsorted",
    "catalogs": "catalog",
    "message": "message",
    "talk": "talk",
}
IDENTIFIED = frozenset({"lead", "contact", "company", "task", "customer"})


@dataclass
class AmoEvent:
    entity: str  # "contact", "company", "lead", "task", ... or an unknown group's name
    action: str  # "add", "update", "delete", "restore", "status", "responsible", "note"...
    id: int  # the entity's id (for a note: the id of the entity it is attached to)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class AmoWebhook:
    account_id: int | None
    subdomain: str
    events: list[AmoEvent] = field(default_factory=list)


# --- PHP bracket keys -------------------------------------------------------------------------


def parse_brackets(body: str | bytes) -> dict[str, Any]:
    """A form-encoded body with PHP keys (``a[b][0][c]=v``) as nested dicts; a dict whose
    keys are all list positions (0...10,000) becomes a list in the order of its keys."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
    text = text.replace("\x00", "").strip()
    if not text:
        return {}
    _refuse_if_not_form(text)
    root: dict[str, Any] = {}
    next_index: dict[int, tuple[dict, int]] = {}  # id(dict) -> (it, where "[]" appends)
    for part in text.split("&", MAX_FIELDS)[:MAX_FIELDS]:
        if not part:
            continue
        raw_key, _, raw_value = part.partition("=")
        key = unquote_plus(raw_key, errors="replace").replace("\x00", "")
        value = unquote_plus(raw_value, errors="replace").replace("\x00", "")
        path = _key_path(key)
        if path is not None:
            _assign(root, path, value, next_index)
    return {key: _listify(value) for key, value in root.items()}  # the top stays a dict


def _refuse_if_not_form(text: str) -> None:
    if text[0] in "{[":
        try:
            json.loads(text)
        except ValueError:
            pass
        else:
            raise ValueError("The body is JSON, not form-encoded (key=value&...)")
    if text[0] == "<":
        raise ValueError("The body is markup (HTML or XML), not form-encoded (key=value&...)")
    if "=" not in text:
        raise ValueError("The body is not form-encoded: it has no key=value pairs")


def _key_path(key: str) -> list[str] | None:
    """``a[b][]`` -> ["a", "b", ""]; None for a key PHP would drop (no name, too deep).
    What follows an unbalanced or stray bracket is ignored, as PHP does."""
    start = key.find("[")
    if start == -1:
        return [key] if key else None
    name = key[:start]
    if not name:
        return None
    path = [name]
    position = start
    while position < len(key) and key[position] == "[":
        close = key.find("]", position)
        if close == -1:
            break
        path.append(key[position + 1 : close])
        if len(path) > MAX_DEPTH:
            return None
        position = close + 1
    return path


def _assign(
    root: dict, path: list[str], value: str, next_index: dict[int, tuple[dict, int]]
) -> None:
    node = root
    for depth, segment in enumerate(path):
        appended = next_index.get(id(node), (node, 0))[1]
        if segment == "" and depth > 0:
            if appended > MAX_INDEX:
                return  # a list grown past the cap by "[]": the rest is dropped
            segment = str(appended)
        if _INDEX.fullmatch(segment) and int(segment) <= MAX_INDEX:
            next_index[id(node)] = (node, max(appended, int(segment) + 1))
        if depth == len(path) - 1:
            node[segment] = value
            return
        child = node.get(segment)
        if not isinstance(child, dict):
            child = {}
            node[segment] = child  # a later array replaces an earlier scalar, as in PHP
        node = child


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {key: _listify(value) for key, value in node.items()}
    if items and all(_INDEX.fullmatch(key) and int(key) <= MAX_INDEX for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


# --- Typed events ---------------------------------------------------------------------------


def parse_webhook(body: str | bytes) -> AmoWebhook:
    """The account and the events of one webhook body (at most 1,000 of them)."""
    data = parse_brackets(body)
    account = data.get("account")
    if not isinstance(account, dict):
        account = {}
    subdomain = account.get("subdomain")
    hook = AmoWebhook(
        account_id=_int(account.get("id")),
        subdomain=subdomain if isinstance(subdomain, str) else "",
    )
    for group, actions in data.items():
        if group == "account" or not isinstance(actions, dict):
            continue
        for action, items in actions.items():
            for item in _entities(items):
                event = _event(group, action, item)
                if event is not None:
                    hook.events.append(event)
                if len(hook.events) >= MAX_EVENTS:
                    return hook
    return hook


def _entities(items: Any) -> list[dict[str, Any]]:
    if isinstance(items, list):
        return [item for item in items if isinstance(item, dict)]
    if isinstance(items, dict):
        if "id" in items or "note" in items:  # one entity without a position
            return [items]
        return [item for item in items.values() if isinstance(item, dict)]
    return []


def _event(group: str, action: str, item: dict[str, Any]) -> AmoEvent | None:
    entity = ENTITIES.get(group, group)
    if entity == "contact" and item.get("type") == "company":
        entity = "company"
    data = _normalise(item)
    entity_id = data.get("id")
    if entity_id is None and isinstance(data.get("note"), dict):
        entity_id = data["note"].get("element_id")
    if not isinstance(entity_id, int) or entity_id <= 0:
        if entity in IDENTIFIED:
            return None  # nothing to look up: junk
        entity_id = 0
    return AmoEvent(entity=entity, action=action, id=entity_id, data=data)


def _normalise(item: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in item.items():
        if key in INT_KEYS:
            data[key] = _int(value)
        elif key == "custom_fields":
            data[key] = custom_fields(value)
        elif key == "note" and isinstance(value, dict):
            data[key] = _normalise(value)
        else:
            data[key] = value
    return data


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    match = _INT.fullmatch(value)
    return int(match[1]) if match else None


def custom_fields(raw: Any) -> list[dict[str, Any]]:
    """``custom_fields`` in one shape: ``[{"id", "name", "code", "values": [{"value",
    "enum"}]}]``, from a list or an object of fields, values as a list of objects, bare
    values (dates) or one object (radiobutton)."""
    fields = raw if isinstance(raw, list) else list(raw.values()) if isinstance(raw, dict) else []
    result = []
    for item in fields:
        if not isinstance(item, dict):
            continue
        field_id = _int(item.get("id"))
        if field_id is None:
            continue
        code, name = item.get("code"), item.get("name")
        result.append(
            {
                "id": field_id,
                "name": name if isinstance(name, str) else "",
                "code": code if isinstance(code, str) else "",
                "values": _values(item.get("values")),
            }
        )
    return result


def _values(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [{"value": raw, "enum": None}]
    if isinstance(raw, dict):
        if "value" in raw or "enum" in raw or "enum_id" in raw:
            return [_value(raw)]
        raw = list(raw.values())
    if not isinstance(raw, list):
        return []
    values = []
    for item in raw:
        if isinstance(item, str):
            values.append({"value": item, "enum": None})
        elif isinstance(item, dict):
            values.append(_value(item))
    return values


def _value(item: dict[str, Any]) -> dict[str, Any]:
    value = item.get("value")
    enum = item.get("enum", item.get("enum_id"))
    return {"value": value if isinstance(value, str) else "", "enum": _int(enum)}
