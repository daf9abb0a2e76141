"""A fake amoCRM (Kommo) account on loopback, for tests, ``make run`` and benchmarks.

    with FakeAmo() as fake:                      # or the ``fake_amo`` fixture
        client = AmoClient(base_url=fake.url, ...)  # Bearer fake.long_lived_token
        fake.ui_add_contact(name="Иван Петров", phone="+79991234567")
        fake.deliver_webhooks(post=...)          # the account's webhooks, v2 form-encoded

It answers the API v4 the way the real one does (HAL json, 204 on empty, ``request_id``
echo, 422 over 250, ``validation-errors``, rate limit 429 with ``retry_after``, OAuth with
single-use codes and rotating refresh tokens) from an in-memory account
(``fake_state.AccountState``), and sends the account's webhooks (``fake_hooks``): for the
changes a test makes "as a manager" (``ui_*``, with that user's id) and for API writes (the
echo a sync must ignore; ``modified_user_id`` 0). Switches on top of ``FakeServer``'s:
``block``, ``payment_required``, ``fail_ratio``, ``fail_after_apply_next``, ``revoke_all``,
``expire_tokens``, ``drop_webhooks``, ``drop_next_webhooks``. Injected failures never apply
the write, except ``fail_after_apply_next``.
"""

import copy
import datetime
import logging
import random
import secrets
import threading
import time
from collections import deque
from http.server import ThreadingHTTPServer
from typing import Any

from integrations.amocrm import fake_api, fake_desk, fake_widget
from integrations.amocrm.fake_hooks import (
    HEADERS,
    TIMEOUT,
    Body,
    HookOutbox,
    Poster,
    http_post,
    v2_entity,
)
from integrations.amocrm.fake_state import AccountState, birthday_timestamp
from integrations.fakes import FakeRequest, FakeResponse, FakeServer, _handler_for

logger = logging.getLogger(__name__)

FAIL_KINDS = ("429", "500", "502", "503", "504", "timeout")
CODE_LIFETIME = 20 * 60
REFRESH_LIFETIME = 90 * 86400
GENDERS = ("Мужской", "Женский")


class FakeAmo(FakeServer):
    def __init__(
        self,
        *,
        account_id: int = 17769199,
        subdomain: str = "clinic",
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",  # noqa: S107 (a fake's well-known secret)
        long_lived_token: str = "fake-long-lived-token",  # noqa: S107
        rps: int | None = 7,
        seed: int = 0,
        auto_deliver: bool = False,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__()
        self.account_id = account_id
        self.subdomain = subdomain
        self.client_id = client_id
        self.client_secret = client_secret
        self.long_lived_token = long_lived_token
        self.redirect_uri: str | None = None
        self.token_lifetime = 86400
        self.rps = rps
        self.port = port
        self.host = host
        self.auto_deliver = auto_deliver
        self.journal_limit: int | None = None  # a long-running demo keeps the newest only
        self.state = AccountState(account_id=account_id, subdomain=subdomain)
        self.hooks = HookOutbox(seed)
        self.lock = threading.RLock()  # around the account, the tokens and the switches
        self._deliver_lock = threading.RLock()
        self._hooks_queued = threading.Condition(self.lock)
        self._ready: list[Body] = []
        self._stopping = threading.Event()
        self._deliverer: threading.Thread | None = None
        self._hits: deque[float] = deque()
        self._trimmed_api_requests = 0
        self._random = random.Random(seed)  # noqa: S311 (repeatable failures, not secrets)
        self._fail_ratio = 0.0
        self._fail_kinds: tuple[str, ...] = ()
        self._fail_timeout = 3.0
        self._after_apply: deque[tuple[str, float]] = deque()
        self._blocked = False
        self._payment_required = False
        self._long_lived_valid = True
        self._codes: dict[str, dict[str, Any]] = {}
        self._access: dict[str, dict[str, Any]] = {}
        self._refresh: dict[str, dict[str, Any]] = {}
        # The deal-card widget uploaded to the integration (``fake_widget``).
        self.widget_files: dict[str, bytes] = {}
        self.widget_settings: dict[str, str] = {}

    # --- Running ----------------------------------------------------------------------------

    def start(self) -> "FakeAmo":
        # TCP_NODELAY: the base handler writes headers and body apart, and Nagle's algorithm
        # with delayed ACKs would add ~40 ms to every keep-alive request.
        handler = type("AmoHandler", (_handler_for(self),), {"disable_nagle_algorithm": True})
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        if self.auto_deliver:
            self._stopping.clear()
            self._deliverer = threading.Thread(target=self._deliver_loop, daemon=True)
            self._deliverer.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self.lock:
            self._hooks_queued.notify_all()
        if self._deliverer is not None:
            self._deliverer.join(timeout=5)
            self._deliverer = None
        super().stop()

    @property
    def base(self) -> str:
        """Where the account's links point: the fake's URL once started."""
        return self.url if self._server is not None else f"https://{self.subdomain}.amocrm.ru"

    # --- Switches ---------------------------------------------------------------------------

    def block(self) -> None:
        """Every API request gets 403 (amoCRM's block after abuse) until ``unblock()``."""
        with self.lock:
            self._blocked = True

    def unblock(self) -> None:
        with self.lock:
            self._blocked = False

    def payment_required(self, on: bool = True) -> None:
        """Every API request gets 402 (an unpaid account) until ``payment_required(False)``."""
        with self.lock:
            self._payment_required = on

    def fail_ratio(
        self,
        p: float,
        kinds: tuple[str, ...] = ("429", "500", "timeout"),
        timeout_seconds: float = 3.0,
    ) -> None:
        """Each API request fails with probability ``p`` (seeded), as one of ``kinds``:
        a status, or "timeout" (answers 504 after ``timeout_seconds``); nothing is applied."""
        unknown = set(kinds) - set(FAIL_KINDS)
        if unknown:
            raise ValueError(f"Unknown failure kinds {sorted(unknown)}; known: {FAIL_KINDS}")
        with self.lock:
            self._fail_ratio, self._fail_kinds, self._fail_timeout = (
                p,
                tuple(kinds),
                timeout_seconds,
            )

    def fail_after_apply_next(
        self, kind: str = "500", *, times: int = 1, timeout_seconds: float = 3.0
    ) -> None:
        """The next ``times`` API writes are applied, but answered with a 500 ("500") or
        only after ``timeout_seconds`` ("timeout"): the client cannot know they happened."""
        if kind not in ("500", "timeout"):
            raise ValueError('kind is "500" or "timeout"')
        with self.lock:
            self._after_apply.extend([(kind, timeout_seconds)] * times)

    def revoke_all(self) -> None:
        """Every token (access, refresh, long-lived) stops working: the API answers 401."""
        with self.lock:
            self._access.clear()
            for refresh in self._refresh.values():
                refresh["revoked"] = True
            self._long_lived_valid = False

    def expire_tokens(self) -> None:
        """The access tokens issued so far expire now (refresh tokens still work)."""
        with self.lock:
            for token in self._access.values():
                token["expires_at"] = 0.0

    def new_long_lived_token(self) -> str:
        with self.lock:
            self.long_lived_token = f"fake-long-lived-{secrets.token_hex(16)}"
            self._long_lived_valid = True
            return self.long_lived_token

    def drop_webhooks(self, ratio: float) -> None:
        """Each webhook request is lost silently with this probability (seeded)."""
        with self.lock:
            self.hooks.drop_ratio = ratio

    def drop_next_webhooks(self, n: int = 1) -> None:
        with self.lock:
            self.hooks.drop_next += n

    # --- OAuth ------------------------------------------------------------------------------

    def issue_code(self, *, redirect_uri: str | None = None, user_id: int | None = None) -> str:
        """An authorization code, as the integration's modal or the /oauth page gives one."""
        code = f"def502{secrets.token_hex(48)}"
        with self.lock:
            self._codes[code] = {
                "user_id": user_id or self.state.admin_id,
                "expires_at": time.time() + CODE_LIFETIME,
                "redirect_uri": redirect_uri or self.redirect_uri,
                "used": False,
            }
        return code

    def _issue_tokens(self, user_id: int, parent: str | None) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(48), f"def502{secrets.token_hex(64)}"
        now = time.time()
        self._access[access] = {"user_id": user_id, "expires_at": now + self.token_lifetime}
        self._refresh[refresh] = {
            "user_id": user_id,
            "expires_at": now + REFRESH_LIFETIME,
            "parent": parent,
            "revoked": False,
        }
        return {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "server_time": int(now),
            "access_token": access,
            "refresh_token": refresh,
        }

    def _token(self, request: FakeRequest) -> FakeResponse:
        data = fake_api.json_or_form(request)
        if not isinstance(data, dict):
            return fake_api.oauth_error("Request body is not valid")
        if (
            data.get("client_id") != self.client_id
            or data.get("client_secret") != self.client_secret
        ):
            return fake_api.oauth_error("Client authentication failed", status=401)
        grant = data.get("grant_type")
        if grant == "authorization_code":
            return self._grant_code(data)
        if grant == "refresh_token":
            return self._grant_refresh(data)
        return fake_api.oauth_error("The authorization grant type is not supported")

    def _grant_code(self, data: dict[str, Any]) -> FakeResponse:
        code = self._codes.get(str(data.get("code") or ""))
        if code is None:
            return fake_api.oauth_error("Cannot decrypt the authorization code")
        if code["used"]:
            return fake_api.oauth_error("Authorization code has been revoked")
        if time.time() > code["expires_at"]:
            return fake_api.oauth_error("Authorization code has expired")
        if code["redirect_uri"] and data.get("redirect_uri") != code["redirect_uri"]:
            return fake_api.oauth_error("Invalid redirect URI")
        code["used"] = True
        return fake_api.json_response(self._issue_tokens(code["user_id"], None))

    def _grant_refresh(self, data: dict[str, Any]) -> FakeResponse:
        token = str(data.get("refresh_token") or "")
        refresh = self._refresh.get(token)
        if refresh is None:
            return fake_api.oauth_error("Cannot decrypt the refresh token")
        if refresh["revoked"]:
            return fake_api.oauth_error("Token has been revoked")
        if time.time() > refresh["expires_at"]:
            return fake_api.oauth_error("Token has expired")
        # Rotation with grace: this token's predecessor dies now that this one is used;
        # this one lives on until its own successor is first used.
        if refresh["parent"] in self._refresh:
            self._refresh[refresh["parent"]]["revoked"] = True
        return fake_api.json_response(self._issue_tokens(refresh["user_id"], token))

    def _user_of(self, request: FakeRequest) -> int | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        if token == self.long_lived_token and self._long_lived_valid:
            return self.state.admin_id
        access = self._access.get(token.strip())
        if access is None or time.time() >= access["expires_at"]:
            return None
        return access["user_id"]

    # --- Serving ----------------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        self._trim_journal()
        path = request.path.rstrip("/") or "/"
        if path == "/oauth2/access_token":
            if request.method != "POST":
                return fake_api.problem(405, f"Cannot {request.method} {path}")
            with self.lock:
                return self._token(request)
        if path in ("/oauth", "/oauth/allow"):
            with self.lock:
                return fake_api.oauth_page(self, request, allow=path == "/oauth/allow")
        if not path.startswith("/api/v4/"):
            desk = fake_widget.handle(self, request, path) or fake_desk.handle(self, request, path)
            return desk or fake_api.problem(404, f"Cannot {request.method} {path}")
        return self._api(request, path)

    def _api(self, request: FakeRequest, path: str) -> FakeResponse:
        with self.lock:
            if self._blocked:
                return fake_api.problem(403, "Account is blocked for exceeding the request limits")
            if self.rps is not None:
                now = time.monotonic()
                while self._hits and self._hits[0] <= now - 1.0:
                    self._hits.popleft()
                if len(self._hits) >= self.rps:
                    detail = f"More than {self.rps} requests per second"
                    return fake_api.problem(429, detail, retry_after=1)
                self._hits.append(now)
            user_id = self._user_of(request)
            if user_id is None:
                return fake_api.problem(401, "Unauthorized: the access token is missing or invalid")
            if self._payment_required:
                return fake_api.problem(402, "Payment required")
            failure = None
            if self._fail_ratio > 0 and self._random.random() < self._fail_ratio:
                failure = self._random.choice(self._fail_kinds)
            after_apply = None
            if failure is None and request.method in ("POST", "PATCH") and self._after_apply:
                after_apply = self._after_apply.popleft()
            timeout = self._fail_timeout
            if failure is None:
                response = fake_api.route(self, request, path, user_id)
                self._route_outbox()
        if failure == "timeout":
            time.sleep(timeout)
            return fake_api.problem(504, "Gateway Timeout")
        if failure is not None:
            if failure == "429":
                return fake_api.problem(429, "Too many requests", retry_after=1)
            return fake_api.problem(int(failure), "injected failure")
        if after_apply is not None and response.status < 300:
            kind, seconds = after_apply
            if kind == "timeout":
                time.sleep(seconds)
                return response
            return fake_api.problem(500, "Internal error after the write was applied")
        return response

    def _trim_journal(self) -> None:
        limit = self.journal_limit
        if limit is None or len(self.journal) <= limit:
            return
        with self._lock:
            cut = len(self.journal) - limit // 2
            removed, self.journal[:] = self.journal[:cut], self.journal[cut:]
        self._trimmed_api_requests += sum(1 for r in removed if r.path.startswith("/api/"))

    # --- Webhooks out -----------------------------------------------------------------------

    def _route_outbox(self) -> None:
        """Turn the account's committed changes into webhook payloads (under ``lock``)."""
        outbox, self.state.outbox = self.state.outbox, []
        for group, action, entity, extra in outbox:
            self.hooks.queue(group, action, v2_entity(group, action, entity, extra))
        if outbox:
            self._hooks_queued.notify_all()

    def hook_account(self) -> dict[str, Any]:
        link = f"https://{self.subdomain}.amocrm.ru"
        return {"subdomain": self.subdomain, "id": self.account_id, "_links": {"self": link}}

    @property
    def pending_webhooks(self) -> int:
        """Changes queued for delivery (one per subscribed webhook)."""
        with self.lock:
            return len(self.hooks.pending) + sum(len(body.events) for body in self._ready)

    def deliver_webhooks(self, post: Poster | None = None) -> int:
        """Send everything queued now, in order; returns how many requests were made.

        ``post(destination, body, headers) -> status`` sends one request (default: httpx,
        2 s timeout, no answer = 0). Dropped bodies are not sent; a status outside 100-299
        or an answer slower than 2 s counts as invalid (101 of them in 2 h disable the hook).
        """
        send = post or http_post
        sent = 0
        with self._deliver_lock:
            with self.lock:
                self._ready.extend(self.hooks.take(self.hook_account()))
                batch, self._ready = self._ready, []
            for number, body in enumerate(batch):
                with self.lock:
                    webhook = self.hooks.webhooks.get(body.webhook_id)
                    if webhook is None or webhook["disabled"]:
                        self.hooks.record(body, "disabled", None)
                        continue
                    if self.hooks.should_drop():
                        self.hooks.record(body, "dropped", None)
                        continue
                started = time.monotonic()
                try:
                    status = send(body.destination, body.body, dict(HEADERS))
                except BaseException:
                    with self.lock:
                        self._ready[:0] = batch[number + 1 :]
                        self.hooks.record(body, "invalid", 0)
                    raise
                seconds = time.monotonic() - started
                valid = 100 <= status < 300 and seconds <= TIMEOUT
                with self.lock:
                    self.hooks.record(body, "delivered" if valid else "invalid", status, seconds)
                sent += 1
        return sent

    def _deliver_loop(self) -> None:
        while not self._stopping.is_set():
            with self.lock:
                self._hooks_queued.wait_for(
                    lambda: bool(self.hooks.pending) or self._stopping.is_set(), timeout=0.5
                )
            if self._stopping.is_set():
                return
            time.sleep(0.05)  # a burst of changes shares a request, as amoCRM's do
            try:
                self.deliver_webhooks()
            except Exception:
                logger.exception("FakeAmo: delivering webhooks failed")

    @property
    def webhook_log(self) -> list[dict[str, Any]]:
        """Every webhook request: destination, body (bytes), events [(group, action, id)],
        outcome ("delivered", "invalid", "dropped", "disabled"), status, seconds."""
        with self.lock:
            return list(self.hooks.log)

    @property
    def webhooks(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(list(self.hooks.webhooks.values()))

    # --- Acting as a manager in amoCRM's UI -------------------------------------------------

    def _acting(self, user_id: int | None) -> int:
        if user_id is None:
            return list(self.state.users)[1]
        if user_id not in self.state.users:
            raise ValueError(f"No user {user_id} in the account")
        return user_id

    def _contact_item(self, changes: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = {}
        fields: list[dict[str, Any]] = []
        for key, value in changes.items():
            if key in ("name", "first_name", "last_name", "responsible_user_id"):
                item[key] = value
            elif key in ("phone", "email"):
                values = [value] if isinstance(value, str) else list(value or [])
                default = "WORK"
                fields.append(
                    {
                        "field_code": key.upper(),
                        "values": [
                            {
                                "value": v,
                                "enum_code": default
                                if n == 0
                                else "MOB"
                                if key == "phone"
                                else "PRIV",
                            }
                            for n, v in enumerate(values)
                        ]
                        or None,
                    }
                )
            elif key == "birthday":
                if value is not None and not isinstance(value, datetime.date):
                    raise TypeError("birthday is a datetime.date or None")
                field = self._field("Дата рождения")
                stamp = birthday_timestamp(value) if value else None
                fields.append(
                    {"field_id": field["id"], "values": [{"value": stamp}] if value else None}
                )
            elif key == "gender":
                if value is not None and value not in GENDERS:
                    raise ValueError(f"gender is one of {GENDERS} or None")
                field = self._field("Пол")
                fields.append(
                    {"field_id": field["id"], "values": [{"value": value}] if value else None}
                )
            elif key == "position":
                fields.append(
                    {"field_code": "POSITION", "values": [{"value": value}] if value else None}
                )
            else:
                raise TypeError(f"Unknown contact change {key!r}")
        if fields:
            item["custom_fields_values"] = fields
        return item

    def _field(self, name: str) -> dict[str, Any]:
        field = self.state.field("contacts", name)
        if field is None:
            raise KeyError(f"No contact field {name!r}")
        return field

    def _ui_write(self, kind: str, item: dict[str, Any], old_id: int | None, user_id: int | None):
        user = self._acting(user_id)
        with self.lock:
            store = self.state.contacts if kind == "contact" else self.state.leads
            if old_id is not None and old_id not in store:
                raise KeyError(f"No {kind} {old_id}")
            old = store.get(old_id) if old_id is not None else None
            build = self.state.build_contact if kind == "contact" else self.state.build_lead
            entity, errors = build(item, old, user)
            if errors:
                raise ValueError(f"amoCRM would refuse this: {errors}")
            self.state.commit(kind, entity, old, modified_by=user)
            self._route_outbox()
            if kind == "contact":
                return self.state.render_contact(entity, self.base, with_leads=True)
            return self.state.render_lead(
                entity, self.base, with_contacts=True, with_loss_reason=True
            )

    def ui_add_contact(
        self,
        name: str,
        *,
        phone: str | list[str] | None = None,
        email: str | list[str] | None = None,
        birthday: datetime.date | None = None,
        gender: str | None = None,
        user_id: int | None = None,
        responsible_user_id: int | None = None,
    ) -> dict[str, Any]:
        changes: dict[str, Any] = {"name": name}
        for key, value in (
            ("phone", phone),
            ("email", email),
            ("birthday", birthday),
            ("gender", gender),
        ):
            if value:
                changes[key] = value
        if responsible_user_id is not None:
            changes["responsible_user_id"] = responsible_user_id
        return self._ui_write("contact", self._contact_item(changes), None, user_id)

    def ui_update_contact(self, contact_id: int, *, user_id: int | None = None, **changes: Any):
        """Change ``name``, ``phone`` (str or list), ``email``, ``birthday``, ``gender``,
        ``position``, ``responsible_user_id``; None clears a field."""
        return self._ui_write("contact", self._contact_item(changes), contact_id, user_id)

    def ui_add_lead(
        self,
        name: str = "",
        *,
        contact_id: int | None = None,
        status_id: int | None = None,
        pipeline_id: int | None = None,
        price: int = 0,
        user_id: int | None = None,
        custom_fields_values: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        item: dict[str, Any] = {"name": name, "price": price}
        if status_id is not None:
            item["status_id"] = status_id
        if pipeline_id is not None:
            item["pipeline_id"] = pipeline_id
        if contact_id is not None:
            item["_embedded"] = {"contacts": [{"id": contact_id, "is_main": True}]}
        if custom_fields_values:
            item["custom_fields_values"] = custom_fields_values
        return self._ui_write("lead", item, None, user_id)

    def ui_update_lead(self, lead_id: int, *, user_id: int | None = None, **item: Any):
        """Change a deal as the API's PATCH would take ``item`` (name, price, fields...)."""
        return self._ui_write("lead", item, lead_id, user_id)

    def ui_move_lead(
        self,
        lead_id: int,
        status_id: int,
        *,
        loss_reason_id: int | None = None,
        pipeline_id: int | None = None,
        user_id: int | None = None,
    ) -> dict[str, Any]:
        item: dict[str, Any] = {"status_id": status_id}
        if pipeline_id is not None:
            item["pipeline_id"] = pipeline_id
        if loss_reason_id is not None:
            item["loss_reason_id"] = loss_reason_id
        return self._ui_write("lead", item, lead_id, user_id)

    def ui_delete_lead(self, lead_id: int, *, user_id: int | None = None) -> None:
        self._ui_delete("lead", lead_id, user_id)

    def ui_delete_contact(self, contact_id: int, *, user_id: int | None = None) -> None:
        self._ui_delete("contact", contact_id, user_id)

    def _ui_delete(self, kind: str, entity_id: int, user_id: int | None) -> None:
        user = self._acting(user_id)
        with self.lock:
            store = self.state.contacts if kind == "contact" else self.state.leads
            if entity_id not in store:
                raise KeyError(f"No {kind} {entity_id}")
            self.state.delete(kind, entity_id, user)
            self._route_outbox()

    # --- Reading, for assertions ------------------------------------------------------------

    @property
    def contacts(self) -> dict[int, dict[str, Any]]:
        with self.lock:
            return {
                contact_id: self.state.render_contact(contact, self.base, with_leads=True)
                for contact_id, contact in self.state.contacts.items()
            }

    @property
    def leads(self) -> dict[int, dict[str, Any]]:
        with self.lock:
            return {
                lead_id: self.state.render_lead(
                    lead, self.base, with_contacts=True, with_loss_reason=True
                )
                for lead_id, lead in self.state.leads.items()
            }

    @property
    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [{k: v for k, v in e.items() if k != "_number"} for e in self.state.events]

    def _field_values(self, entity_kind: str, entity: dict | int, key: int | str) -> list[Any]:
        with self.lock:
            if isinstance(entity, int):
                store = self.state.contacts if entity_kind == "contacts" else self.state.leads
                entity = store[entity]
            field = self.state.field(entity_kind, key)
            if field is None:
                raise KeyError(f"No {entity_kind} field {key!r}")
            for entry in entity.get("custom_fields_values") or []:
                if entry["field_id"] == field["id"]:
                    return [value["value"] for value in entry["values"]]
            return []

    def contact_field_values(self, contact: dict | int, code_or_id: int | str) -> list[Any]:
        """All values of a contact's field (by id, code or name): phones as typed, a
        birthday as a Unix timestamp, a select as its label."""
        return self._field_values("contacts", contact, code_or_id)

    def contact_field_value(self, contact: dict | int, code_or_id: int | str) -> Any:
        values = self.contact_field_values(contact, code_or_id)
        return values[0] if values else None

    def lead_field_value(self, lead: dict | int, code_or_id: int | str) -> Any:
        values = self._field_values("leads", lead, code_or_id)
        return values[0] if values else None

    def field_id(self, entity: str, code_or_name: str) -> int:
        """A custom field's id: ``fake.field_id("contacts", "Пол")``."""
        with self.lock:
            field = self.state.field(entity, code_or_name)
            if field is None:
                raise KeyError(f"No {entity} field {code_or_name!r}")
            return field["id"]

    def enum_id(self, entity: str, code_or_name: str, value: str) -> int:
        with self.lock:
            field = self.state.field(entity, code_or_name)
            for enum in (field or {}).get("enums") or []:
                if enum["value"] == value:
                    return enum["id"]
            raise KeyError(f"No enum {value!r} in {entity} field {code_or_name!r}")

    @property
    def main_pipeline_id(self) -> int:
        return self.state.main_pipeline_id

    def status_id(self, name: str, pipeline_id: int | None = None) -> int:
        with self.lock:
            return self.state.status_id(name, pipeline_id)

    def widget_token(self, *, aud: str, user_id: int | None = None, **claims: Any) -> str:
        """A one-time token amoCRM signs for the widget (see ``fake_widget.mint_token``)."""
        return fake_widget.mint_token(self, aud=aud, user_id=user_id, **claims)

    @property
    def user_ids(self) -> list[int]:
        """The account's users: the first is the admin (the long-lived token's user)."""
        return list(self.state.users)

    @property
    def api_request_count(self) -> int:
        """Requests to ``/api/...`` so far, answered or refused (not OAuth, not webhooks)."""
        with self._lock:
            counted = sum(1 for r in self.journal if r.path.startswith("/api/"))
        return counted + self._trimmed_api_requests
