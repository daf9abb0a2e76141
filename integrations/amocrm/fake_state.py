"""The in-memory amoCRM account behind ``FakeAmo``: users, pipelines, custom fields,
contacts and deals, the writes' validation, and the events log.

Not thread-safe by itself: ``FakeAmo`` holds one lock around every call. Entities are kept
as the API shows them (``custom_fields_values``, ``_embedded``), without ``_links``; a
deal's contacts are kept in its ``_embedded.contacts`` and shown only with ``with=contacts``.
Every committed change goes to ``outbox`` as ``(group, action, snapshot, extra)``, from
which ``FakeAmo`` makes the account's webhooks.
"""

import copy
import datetime
import time
from typing import Any
from zoneinfo import ZoneInfo

from integrations.amocrm.config import LOST, WON

ACCOUNT_TZ = ZoneInfo("Europe/Moscow")
CLOSED = (WON, LOST)
WON_NAME, LOST_NAME = "Успешно реализовано", "Закрыто и не реализовано"
PAGE_MAX = 250

PHONE_ENUMS = ("WORK", "WORKDD", "MOB", "FAX", "HOME", "OTHER")
EMAIL_ENUMS = ("WORK", "PRIV", "OTHER")
ENUM_TYPES = ("select", "multiselect", "radiobutton", "multitext")
DATE_TYPES = ("date", "date_time", "birthday")
FIELD_TYPES = (
    "text",
    "numeric",
    "checkbox",
    "select",
    "multiselect",
    "multitext",
    "date",
    "date_time",
    "birthday",
    "url",
    "textarea",
    "radiobutton",
    "streetaddress",
    "smart_address",
    "price",
    "monetary",
)
MAIN_STAGES = ("Первичный контакт", "Записан", "Подтверждён", "Пришёл", "Не пришёл", "Отменён")
SECOND_STAGES = ("Консультация", "План лечения", "Лечение")
LOSS_REASONS = ("Дорого", "Выбрал другую клинику", "Не дозвонились", "Передумал")
USERS = ("Администратор", "Анна Смирнова", "Олег Петров")


class ValidationFailed(Exception):
    """A batch refused as a whole: ``errors`` is amoCRM's ``validation-errors`` list."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("Request validation failed")
        self.errors = errors


def error(code: str, path: str, detail: str) -> dict[str, str]:
    return {"code": code, "path": path, "detail": detail}


def birthday_timestamp(day: datetime.date) -> int:
    """A date as amoCRM stores it: the Unix time of its midnight in the account's zone."""
    return int(datetime.datetime(day.year, day.month, day.day, tzinfo=ACCOUNT_TZ).timestamp())


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _date_value(value: Any) -> int | None:
    """Unix seconds from an int, a string of digits or an RFC 3339 / ISO date string."""
    number = as_int(value)
    if number is not None:
        return number
    if isinstance(value, float) and value == value:
        return int(value)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ACCOUNT_TZ)
    return int(moment.timestamp())


class AccountState:
    def __init__(self, *, account_id: int, subdomain: str) -> None:
        self.account_id = account_id
        self.subdomain = subdomain
        self._ids = {
            "user": 8000001,
            "pipeline": 3177727,
            "status": 32392156,
            "field": 957681,
            "enum": 1230737,
            "contact": 40401635,
            "lead": 25399013,
            "tag": 501,
            "webhook": 839656,
            "loss_reason": 6001,
            "event": 1,
        }
        self.created_at = self.now() - 400 * 86400
        self.users: dict[int, dict[str, Any]] = {}
        self.pipelines: dict[int, dict[str, Any]] = {}
        self.loss_reasons: dict[int, dict[str, Any]] = {}
        self.fields: dict[str, dict[int, dict[str, Any]]] = {"contacts": {}, "leads": {}}
        self.contacts: dict[int, dict[str, Any]] = {}
        self.leads: dict[int, dict[str, Any]] = {}
        self.deleted_leads: dict[int, dict[str, Any]] = {}
        self.deleted_contacts: dict[int, dict[str, Any]] = {}
        self.tags: dict[str, int] = {}
        self.events: list[dict[str, Any]] = []
        self.outbox: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
        self._build_account()

    # --- Setup ------------------------------------------------------------------------------

    def next_id(self, kind: str) -> int:
        value = self._ids[kind]
        self._ids[kind] = value + 1
        return value

    @staticmethod
    def now() -> int:
        return int(time.time())

    def _build_account(self) -> None:
        for number, name in enumerate(USERS):
            user_id = self.next_id("user")
            self.users[user_id] = {
                "id": user_id,
                "name": name,
                "email": f"user{number + 1}@clinic.example",
                "lang": "ru",
                "rights": {
                    "leads": {"view": "A", "edit": "A", "add": "A", "delete": "A", "export": "A"},
                    "contacts": {"view": "A", "edit": "A", "add": "A", "delete": "A"},
                    "is_admin": number == 0,
                    "is_free": False,
                    "is_active": True,
                    "group_id": None,
                    "role_id": None,
                },
            }
        self._add_pipeline("Воронка", MAIN_STAGES, is_main=True, sort=1)
        self._add_pipeline("Имплантация", SECOND_STAGES, is_main=False, sort=2)
        for sort, name in enumerate(LOSS_REASONS, start=1):
            reason_id = self.next_id("loss_reason")
            self.loss_reasons[reason_id] = {
                "id": reason_id,
                "name": name,
                "sort": sort * 10,
                "created_at": self.created_at,
                "updated_at": self.created_at,
            }
        for code, name, enums in (
            ("PHONE", "Телефон", PHONE_ENUMS),
            ("EMAIL", "Email", EMAIL_ENUMS),
        ):
            self.add_field("contacts", name=name, type="multitext", code=code, enums=enums)
        self.add_field("contacts", name="Должность", type="text", code="POSITION")
        self.add_field("contacts", name="Дата рождения", type="birthday")
        self.add_field("contacts", name="Пол", type="select", enums=("Мужской", "Женский"))
        # Where a clinic keeps its patients' app accounts (Odonta writes them, one way).
        self.add_field("contacts", name="Аккаунт приложения", type="text")
        self.add_field(
            "leads", name="Источник", type="select", enums=("Сайт", "Звонок", "Рекомендация")
        )
        self.add_field("leads", name="Дата приёма", type="date_time")
        self.add_field("leads", name="Врач", type="text")
        self.add_field(
            "leads", name="Тип визита", type="radiobutton", enums=("Первичный", "Повторный")
        )
        self.add_field("leads", name="Комментарий", type="textarea")

    def _add_pipeline(
        self, name: str, stages: tuple[str, ...], *, is_main: bool, sort: int
    ) -> None:
        pipeline_id = self.next_id("pipeline")
        statuses = [self._status(pipeline_id, "Неразобранное", 10, type_=1, color="#c1c1c1")]
        for number, stage in enumerate(stages):
            statuses.append(self._status(pipeline_id, stage, 20 + 10 * number))
        statuses.append(self._status(pipeline_id, WON_NAME, 10000, status_id=WON, color="#CCFF66"))
        statuses.append(
            self._status(pipeline_id, LOST_NAME, 11000, status_id=LOST, color="#D5D8DB")
        )
        self.pipelines[pipeline_id] = {
            "id": pipeline_id,
            "name": name,
            "sort": sort,
            "is_main": is_main,
            "is_unsorted_on": True,
            "is_archive": False,
            "account_id": self.account_id,
            "statuses": statuses,
        }

    def _status(
        self,
        pipeline_id: int,
        name: str,
        sort: int,
        *,
        type_: int = 0,
        status_id: int | None = None,
        color: str = "#99ccff",
    ) -> dict[str, Any]:
        return {
            "id": status_id or self.next_id("status"),
            "name": name,
            "sort": sort,
            "is_editable": status_id is None and type_ == 0,
            "pipeline_id": pipeline_id,
            "color": color,
            "type": type_,
            "account_id": self.account_id,
        }

    def add_field(
        self,
        entity: str,
        *,
        name: str,
        type: str,
        code: str | None = None,
        enums: tuple[str, ...] | list[Any] = (),
        sort: int | None = None,
        is_api_only: bool = False,
    ) -> dict[str, Any]:
        field_id = self.next_id("field")
        enum_rows = []
        for number, enum in enumerate(enums):
            value = enum if isinstance(enum, str) else str(enum.get("value", ""))
            enum_sort = (
                number * 2 + 1 if isinstance(enum, str) else enum.get("sort", number * 2 + 1)
            )
            enum_rows.append({"id": self.next_id("enum"), "value": value, "sort": enum_sort})
        field = {
            "id": field_id,
            "name": name,
            "type": type,
            "account_id": self.account_id,
            "code": code,
            "sort": sort if sort is not None else 500 + 2 * len(self.fields[entity]),
            "is_api_only": is_api_only,
            "enums": enum_rows or None,
            "group_id": None,
            "required_statuses": [],
            "is_deletable": code not in ("PHONE", "EMAIL", "POSITION"),
            "is_predefined": code in ("PHONE", "EMAIL", "POSITION"),
            "entity_type": entity,
            "remind": "never_remind" if type == "birthday" else None,
            "triggers": [],
            "currency": None,
            "hidden_statuses": [],
        }
        self.fields[entity][field_id] = field
        return field

    # --- Look-ups ---------------------------------------------------------------------------

    @property
    def main_pipeline_id(self) -> int:
        return next(p["id"] for p in self.pipelines.values() if p["is_main"])

    @property
    def admin_id(self) -> int:
        return next(iter(self.users))

    def status_id(self, name: str, pipeline_id: int | None = None) -> int:
        pipeline = self.pipelines[pipeline_id or self.main_pipeline_id]
        for status in pipeline["statuses"]:
            if status["name"] == name:
                return status["id"]
        raise KeyError(f"No stage {name!r} in the pipeline {pipeline['name']!r}")

    def first_stage(self, pipeline_id: int) -> int:
        return next(s["id"] for s in self.pipelines[pipeline_id]["statuses"] if s["type"] == 0)

    def stage(self, pipeline_id: int, status_id: int) -> dict[str, Any] | None:
        pipeline = self.pipelines.get(pipeline_id)
        if pipeline is None:
            return None
        return next((s for s in pipeline["statuses"] if s["id"] == status_id), None)

    def field(self, entity: str, key: int | str) -> dict[str, Any] | None:
        """A custom field by id, code or name."""
        fields = self.fields[entity]
        if isinstance(key, int):
            return fields.get(key)
        for field in fields.values():
            if key in (field["code"], field["name"]):
                return field
        return None

    def contact_leads(self, contact_id: int) -> list[int]:
        return [
            lead_id
            for lead_id, lead in self.leads.items()
            if any(link["id"] == contact_id for link in lead["_embedded"]["contacts"])
        ]

    # --- Custom field values ----------------------------------------------------------------

    def _enum(self, field: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any] | None:
        enums = field["enums"] or []
        if raw.get("enum_id") is not None:
            return next((e for e in enums if e["id"] == as_int(raw["enum_id"])), None)
        if raw.get("enum_code") is not None:
            return next((e for e in enums if e["value"] == str(raw["enum_code"])), None)
        if field["type"] == "multitext":
            return enums[0] if enums else None
        if raw.get("value") is not None:
            return next((e for e in enums if e["value"] == str(raw["value"])), None)
        return None

    def _value(self, field: dict[str, Any], raw: Any, path: str) -> tuple[dict | None, dict | None]:
        kind = field["type"]
        if not isinstance(raw, dict):
            return None, error("InvalidType", path, "This value should be of type object.")
        if kind in ENUM_TYPES:
            enum = self._enum(field, raw)
            if enum is None:
                return None, error(
                    "NotSupportedChoice", path, "The value you selected is not a valid choice."
                )
            if kind == "multitext":
                value = raw.get("value")
                if value is None or isinstance(value, dict | list) or str(value) == "":
                    return None, error(
                        "NotBlank", f"{path}.value", "This value should not be blank."
                    )
                return {
                    "value": str(value),
                    "enum_id": enum["id"],
                    "enum_code": enum["value"],
                }, None
            return {"value": enum["value"], "enum_id": enum["id"], "enum_code": None}, None
        value = raw.get("value")
        if kind in DATE_TYPES:
            stamp = _date_value(value)
            if stamp is None:
                return None, error(
                    "InvalidType", f"{path}.value", "This value is not a valid date."
                )
            return {"value": stamp}, None
        if kind == "checkbox":
            if value not in (True, False, 0, 1, "0", "1", "true", "false"):
                return None, error("InvalidType", f"{path}.value", "This value should be bool.")
            return {"value": value in (True, 1, "1", "true")}, None
        if value is None or isinstance(value, dict | list | bool):
            return None, error("InvalidType", f"{path}.value", "This value should be a string.")
        if kind in ("numeric", "price", "monetary"):
            try:
                float(value)
            except ValueError:
                return None, error("InvalidType", f"{path}.value", "This value should be numeric.")
        return {"value": str(value)}, None

    def apply_custom_fields(
        self, entity: str, current: list | None, raw: Any, prefix: str
    ) -> tuple[list | None, list[dict]]:
        """``current`` with the fields of ``raw`` written (each field's values replaced)."""
        if not isinstance(raw, list):
            return current, [error("InvalidType", prefix, "This value should be of type array.")]
        result = copy.deepcopy(current or [])
        errors: list[dict] = []
        for number, item in enumerate(raw):
            path = f"{prefix}.{number}"
            if not isinstance(item, dict):
                errors.append(error("InvalidType", path, "This value should be of type object."))
                continue
            field = None
            if item.get("field_id") is not None:
                field_id = as_int(item["field_id"])
                field = self.fields[entity].get(field_id) if field_id is not None else None
                missing_path = f"{path}.field_id"
            else:
                code = item.get("field_code")
                field = next(
                    (f for f in self.fields[entity].values() if code and f["code"] == code), None
                )
                missing_path = f"{path}.field_code"
            if field is None:
                errors.append(
                    error(
                        "NotSupportedChoice",
                        missing_path,
                        "The value you selected is not a valid choice.",
                    )
                )
                continue
            values_raw = item.get("values")
            values: list[dict] = []
            if values_raw is not None and not isinstance(values_raw, list):
                errors.append(
                    error("InvalidType", f"{path}.values", "This value should be of type array.")
                )
                continue
            for value_number, value_raw in enumerate(values_raw or []):
                value, problem = self._value(field, value_raw, f"{path}.values.{value_number}")
                if problem:
                    errors.append(problem)
                elif value is not None:
                    values.append(value)
            if field["type"] in ("select", "radiobutton") and len(values) > 1:
                values = values[:1]
            result = [entry for entry in result if entry["field_id"] != field["id"]]
            if values:
                entry = {
                    "field_id": field["id"],
                    "field_name": field["name"],
                    "field_code": field["code"],
                    "field_type": field["type"],
                    "values": values,
                }
                position = next(
                    (i for i, e in enumerate(current or []) if e["field_id"] == field["id"]), None
                )
                result.insert(position if position is not None else len(result), entry)
        return (result or None), errors

    # --- Writes -----------------------------------------------------------------------------

    def _tags(self, entity: dict[str, Any], item: dict[str, Any], path: str) -> list[dict]:
        errors: list[dict] = []
        tags = entity["_embedded"]["tags"]
        embedded = _embedded(item)
        if "tags" in embedded:
            tags = []
        to_add = list(embedded.get("tags") or []) + list(item.get("tags_to_add") or [])
        for tag in to_add:
            name = tag.get("name") if isinstance(tag, dict) else None
            if not name:
                errors.append(error("NotBlank", f"{path}.tags", "A tag needs a name."))
                continue
            tag_id = self.tags.setdefault(str(name), self.next_id("tag"))
            if all(t["id"] != tag_id for t in tags):
                tags = [*tags, {"id": tag_id, "name": str(name), "color": None}]
        for tag in item.get("tags_to_delete") or []:
            if isinstance(tag, dict):
                tags = [
                    t for t in tags if t["id"] != tag.get("id") and t["name"] != tag.get("name")
                ]
        entity["_embedded"]["tags"] = tags
        return errors

    def _responsible(self, entity: dict, item: dict, errors: list[dict]) -> None:
        if "responsible_user_id" in item:
            user_id = as_int(item["responsible_user_id"])
            if user_id not in self.users:
                errors.append(
                    error("NotFound", "responsible_user_id", "The user is not in the account.")
                )
            else:
                entity["responsible_user_id"] = user_id

    def build_contact(
        self, item: Any, old: dict[str, Any] | None, user_id: int
    ) -> tuple[dict, list]:
        """The contact ``item`` makes of ``old`` (a new one when None), and the errors."""
        if not isinstance(item, dict):
            return {}, [error("InvalidType", "", "This value should be of type object.")]
        errors: list[dict] = []
        if old is None:
            now = self.now()
            contact: dict[str, Any] = {
                "id": 0,
                "name": "",
                "first_name": "",
                "last_name": "",
                "responsible_user_id": user_id,
                "group_id": 0,
                "created_by": user_id,
                "updated_by": user_id,
                "created_at": now,
                "updated_at": now,
                "closest_task_at": None,
                "is_deleted": False,
                "is_unsorted": False,
                "custom_fields_values": None,
                "account_id": self.account_id,
                "_embedded": {"tags": [], "companies": []},
            }
        else:
            contact = copy.deepcopy(old)
        for key in ("name", "first_name", "last_name"):
            if key in item:
                if not isinstance(item[key], str | type(None)):
                    errors.append(error("InvalidType", key, "This value should be of type string."))
                else:
                    contact[key] = item[key] or ""
        if "name" not in item and ("first_name" in item or "last_name" in item):
            contact["name"] = f"{contact['first_name']} {contact['last_name']}".strip()
        elif "name" in item and old is None and not ({"first_name", "last_name"} & set(item)):
            contact["first_name"] = contact["name"]
        self._responsible(contact, item, errors)
        if "custom_fields_values" in item:
            values, problems = self.apply_custom_fields(
                "contacts",
                contact["custom_fields_values"],
                item["custom_fields_values"],
                "custom_fields_values",
            )
            contact["custom_fields_values"] = values
            errors += problems
        errors += self._tags(contact, item, "_embedded")
        return contact, errors

    def build_lead(self, item: Any, old: dict[str, Any] | None, user_id: int) -> tuple[dict, list]:
        if not isinstance(item, dict):
            return {}, [error("InvalidType", "", "This value should be of type object.")]
        errors: list[dict] = []
        if old is None:
            now = self.now()
            pipeline_id = self.main_pipeline_id
            lead: dict[str, Any] = {
                "id": 0,
                "name": "",
                "price": 0,
                "responsible_user_id": user_id,
                "group_id": 0,
                "status_id": self.first_stage(pipeline_id),
                "pipeline_id": pipeline_id,
                "loss_reason_id": None,
                "created_by": user_id,
                "updated_by": user_id,
                "created_at": now,
                "updated_at": now,
                "closed_at": None,
                "closest_task_at": None,
                "is_deleted": False,
                "custom_fields_values": None,
                "score": None,
                "account_id": self.account_id,
                "labor_cost": None,
                "_embedded": {"tags": [], "companies": [], "contacts": []},
            }
        else:
            lead = copy.deepcopy(old)
        if "name" in item:
            if not isinstance(item["name"], str | type(None)):
                errors.append(error("InvalidType", "name", "This value should be of type string."))
            else:
                lead["name"] = item["name"] or ""
        if "price" in item:
            price = as_int(item["price"]) if item["price"] is not None else 0
            if price is None or price < 0:
                errors.append(error("InvalidType", "price", "This value should be of type int."))
            else:
                lead["price"] = price
        self._responsible(lead, item, errors)
        self._stage(lead, item, old, errors)
        if item.get("loss_reason_id") not in (None, 0):
            reason_id = as_int(item["loss_reason_id"])
            if reason_id not in self.loss_reasons:
                errors.append(error("NotFound", "loss_reason_id", "No such loss reason."))
            else:
                lead["loss_reason_id"] = reason_id
        elif "loss_reason_id" in item:
            lead["loss_reason_id"] = None
        if "custom_fields_values" in item:
            values, problems = self.apply_custom_fields(
                "leads",
                lead["custom_fields_values"],
                item["custom_fields_values"],
                "custom_fields_values",
            )
            lead["custom_fields_values"] = values
            errors += problems
        errors += self._tags(lead, item, "_embedded")
        errors += self._link_contacts(lead, item)
        return lead, errors

    def _stage(self, lead: dict, item: dict, old: dict | None, errors: list[dict]) -> None:
        pipeline_id, status_id = lead["pipeline_id"], lead["status_id"]
        if item.get("pipeline_id") is not None:
            pipeline_id = as_int(item["pipeline_id"])
            if pipeline_id not in self.pipelines:
                errors.append(error("NotFound", "pipeline_id", "No such pipeline."))
                return
            if pipeline_id != lead["pipeline_id"]:
                status_id = self.first_stage(pipeline_id)
        if item.get("status_id") is not None:
            status_id = as_int(item["status_id"])
        stage = self.stage(pipeline_id, status_id) if status_id is not None else None
        if stage is None:
            errors.append(
                error("NotSupportedChoice", "status_id", "No such stage in the pipeline.")
            )
            return
        if stage["type"] == 1 and (old is None or old["status_id"] != status_id):
            errors.append(
                error("NotSupportedChoice", "status_id", "Unsorted is not a stage to set.")
            )
            return
        lead["pipeline_id"], lead["status_id"] = pipeline_id, status_id
        was_closed = old is not None and old["status_id"] in CLOSED
        if status_id in CLOSED and not was_closed:
            lead["closed_at"] = self.now()
        elif status_id not in CLOSED:
            lead["closed_at"] = None

    def _link_contacts(self, lead: dict, item: dict) -> list[dict]:
        links = _embedded(item).get("contacts")
        if links is None:
            return []
        if not isinstance(links, list):
            return [error("InvalidType", "_embedded.contacts", "This value should be an array.")]
        errors = []
        current = lead["_embedded"]["contacts"]
        for number, link in enumerate(links):
            contact_id = as_int(link.get("id")) if isinstance(link, dict) else None
            if contact_id not in self.contacts:
                path = f"_embedded.contacts.{number}.id"
                errors.append(error("NotFound", path, "No such contact."))
                continue
            is_main = bool(link.get("is_main")) or not current
            if is_main:
                current = [{**c, "is_main": False} for c in current]
            current = [c for c in current if c["id"] != contact_id]
            current.append({"id": contact_id, "is_main": is_main})
        lead["_embedded"]["contacts"] = current
        return errors

    def commit(self, kind: str, entity: dict, old: dict | None, modified_by: int) -> bool:
        """Store a built contact or deal; False when it changed nothing (no hook, no bump)."""
        store = self.contacts if kind == "contact" else self.leads
        if old is not None and _comparable(entity) == _comparable(old):
            return False
        if old is None:
            entity["id"] = self.next_id(kind)
            if kind == "lead" and not entity["name"]:
                entity["name"] = f"Сделка #{entity['id']}"
        else:
            entity["updated_at"] = max(self.now(), old["updated_at"] + 1)
        entity["updated_by"] = modified_by
        store[entity["id"]] = entity
        group = "contacts" if kind == "contact" else "leads"
        snapshot = copy.deepcopy(entity)
        if old is None:
            self.event(f"{kind}_added", kind, entity["id"], modified_by)
            self.outbox.append((group, "add", snapshot, {}))
            return True
        self.outbox.append((group, "update", snapshot, {}))
        if kind == "lead" and (old["status_id"], old["pipeline_id"]) != (
            entity["status_id"],
            entity["pipeline_id"],
        ):
            self.event(
                "lead_status_changed",
                "lead",
                entity["id"],
                modified_by,
                before=[
                    {"lead_status": {"id": old["status_id"], "pipeline_id": old["pipeline_id"]}}
                ],
                after=[
                    {
                        "lead_status": {
                            "id": entity["status_id"],
                            "pipeline_id": entity["pipeline_id"],
                        }
                    }
                ],
            )
            extra = {"old_status_id": old["status_id"]}
            if old["pipeline_id"] != entity["pipeline_id"]:
                extra["old_pipeline_id"] = old["pipeline_id"]
            self.outbox.append(("leads", "status", snapshot, extra))
        if old["responsible_user_id"] != entity["responsible_user_id"]:
            extra = {"old_responsible_user_id": old["responsible_user_id"]}
            self.outbox.append((group, "responsible", snapshot, extra))
        return True

    def delete(self, kind: str, entity_id: int, modified_by: int) -> dict[str, Any]:
        store = self.contacts if kind == "contact" else self.leads
        entity = store.pop(entity_id)
        entity["is_deleted"] = True
        entity["updated_at"] = max(self.now(), entity["updated_at"] + 1)
        entity["updated_by"] = modified_by
        if kind == "lead":
            self.deleted_leads[entity_id] = entity
        else:
            self.deleted_contacts[entity_id] = entity
            for lead in self.leads.values():
                links = lead["_embedded"]["contacts"]
                lead["_embedded"]["contacts"] = [c for c in links if c["id"] != entity_id]
        self.event(f"{kind}_deleted", kind, entity_id, modified_by)
        group = "contacts" if kind == "contact" else "leads"
        self.outbox.append((group, "delete", copy.deepcopy(entity), {}))
        return entity

    def event(
        self,
        type_: str,
        entity_type: str,
        entity_id: int,
        created_by: int,
        *,
        before: list | None = None,
        after: list | None = None,
    ) -> None:
        number = self.next_id("event")
        self.events.append(
            {
                "id": f"01{number:024x}",
                "type": type_,
                "entity_id": entity_id,
                "entity_type": entity_type,
                "created_by": created_by,
                "created_at": self.now(),
                "value_after": after or [],
                "value_before": before or [],
                "account_id": self.account_id,
                "_number": number,
            }
        )

    # --- Rendering --------------------------------------------------------------------------

    def render_contact(self, contact: dict, base: str, *, with_leads: bool = False) -> dict:
        shown = copy.deepcopy(contact)
        shown["_links"] = {"self": {"href": f"{base}/api/v4/contacts/{contact['id']}"}}
        if with_leads:
            shown["_embedded"]["leads"] = [
                {"id": lead_id, "_links": {"self": {"href": f"{base}/api/v4/leads/{lead_id}"}}}
                for lead_id in self.contact_leads(contact["id"])
            ]
        return shown

    def render_lead(
        self, lead: dict, base: str, *, with_contacts: bool = False, with_loss_reason: bool = False
    ) -> dict:
        shown = copy.deepcopy(lead)
        shown["_links"] = {"self": {"href": f"{base}/api/v4/leads/{lead['id']}"}}
        links = shown["_embedded"].pop("contacts")
        if with_contacts:
            shown["_embedded"]["contacts"] = [
                {**link, "_links": {"self": {"href": f"{base}/api/v4/contacts/{link['id']}"}}}
                for link in links
            ]
        if with_loss_reason and lead["loss_reason_id"] in self.loss_reasons:
            shown["_embedded"]["loss_reason"] = [dict(self.loss_reasons[lead["loss_reason_id"]])]
        return shown

    def render_pipeline(self, pipeline: dict, base: str) -> dict:
        shown = {key: value for key, value in pipeline.items() if key != "statuses"}
        href = f"{base}/api/v4/leads/pipelines/{pipeline['id']}"
        shown["_links"] = {"self": {"href": href}}
        shown["_embedded"] = {
            "statuses": [
                {**status, "_links": {"self": {"href": f"{href}/statuses/{status['id']}"}}}
                for status in pipeline["statuses"]
            ]
        }
        return shown

    def searchable(self, entity: dict) -> str:
        parts = [str(entity["id"]), entity["name"], entity.get("first_name", "")]
        parts.append(entity.get("last_name", ""))
        for field in entity["custom_fields_values"] or []:
            parts += [str(value.get("value", "")) for value in field["values"]]
        return "\n".join(parts).casefold()


def _comparable(entity: dict) -> dict:
    return {k: v for k, v in entity.items() if k not in ("updated_at", "updated_by", "closed_at")}


def _embedded(item: dict) -> dict:
    embedded = item.get("_embedded")
    return embedded if isinstance(embedded, dict) else {}
