"""The amoCRM (Kommo) API v4 client: the one place Odonta talks to an amoCRM account.

Built on ``integrations.http.ApiClient`` (shared rate limiter, retries, 429 / 401 / 403
handling, masked logs). What it adds:

- **auth**: a Bearer access token from the connection's credentials; an OAuth token is
  refreshed a minute before it expires and after a 401, one worker at a time
  (``connection_lock``), and the new pair is stored before it is used. A long-lived token
  cannot be refreshed: its 401 is ``Unauthorized`` (the connection needs reconnecting);
- **lists**: pages of up to 250 followed until ``_links.next`` is gone; 204 is an empty
  list, and a missing entity (``contact(id)``) is ``None``;
- **batch writes**: cut into batches of ``batch_size`` (50 by default), each item with a
  ``request_id`` so the answer maps back to the input; a 5xx or a timeout on a batch
  halves it and tries again (the write is idempotent on our side: a re-created contact
  would be found by its MIS ID), down to one item, whose error is raised.
"""

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from integrations.amocrm import usage
from integrations.amocrm.config import AmoSettings
from integrations.http import (
    ApiClient,
    IntegrationError,
    ServerError,
    Unauthorized,
    mask_text,
    ssl_context,
)
from integrations.models import Connection

PAGE_LIMIT = 250
REFRESH_MARGIN = 60  # seconds before expiry an access token is renewed
TOKEN_PATH = "/oauth2/access_token"  # noqa: S105 (a path, not a secret)
MIS_ID_CODE = "MIS_ID"


def _now() -> int:
    return int(time.time())


def credentials_from_token_answer(
    answer: dict[str, Any], *, client_id: str, client_secret: str, redirect_uri: str
) -> dict[str, Any]:
    access, refresh = answer.get("access_token"), answer.get("refresh_token")
    if not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
        raise IntegrationError("amoCRM answered the token request without tokens.")
    try:
        lifetime = int(answer.get("expires_in") or 86400)
    except (TypeError, ValueError):
        lifetime = 86400
    return {
        "kind": "oauth",
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uri": redirect_uri,
        "access_token": access,
        "refresh_token": refresh,
        "expires_at": _now() + lifetime,
    }


def _token_request(
    base_url: str, data: dict[str, str], transport: httpx.BaseTransport | None
) -> dict[str, Any]:
    try:
        with httpx.Client(
            base_url=base_url, timeout=15.0, transport=transport, verify=ssl_context()
        ) as http:
            response = http.post(TOKEN_PATH, json=data)
    except httpx.HTTPError as exc:
        raise ServerError(
            f"amoCRM's token endpoint did not answer: {exc.__class__.__name__}"
        ) from exc
    if response.status_code in (400, 401, 403):
        try:
            hint = response.json().get("hint") or response.json().get("detail") or ""
        except ValueError:
            hint = ""
        raise Unauthorized(
            f"amoCRM refused the token request: {hint or response.status_code}",
            status=response.status_code,
            body=mask_text(response.text[:2000]),
        )
    if response.status_code >= 300:
        raise ServerError(
            f"amoCRM's token endpoint answered HTTP {response.status_code}",
            status=response.status_code,
        )
    try:
        answer = response.json()
    except ValueError as exc:
        raise ServerError("amoCRM's token endpoint answered something that is not JSON") from exc
    return answer if isinstance(answer, dict) else {}


class AmoClient(ApiClient):
    system = "amocrm"
    # amoCRM refuses the 8th request inside any second of its own clock, and one 429 costs a
    # second's pause and a minute at half the rate. Seven requests in 1.05 s (6.7 a second)
    # keep a 50 ms margin for the jitter between taking a slot here and arriving there,
    # which settling a slot at its answer does not cover when several workers send at once.
    # At exactly 1 s, 7 % of back-to-back requests to the fake were refused (0 at 1.05 s).
    rate_window = 1.05

    def __init__(self, connection: Connection | None = None, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self.transport = kwargs.get("transport")
        self.settings = AmoSettings.of(connection) if connection else AmoSettings()
        self.batch_size = self.settings.batch_size
        self._credentials = connection.get_credentials() if connection else {}

    # --- Auth -----------------------------------------------------------------------------

    @staticmethod
    def exchange_code(
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        code: str,
        redirect_uri: str,
        transport: httpx.BaseTransport | None = None,
    ) -> dict[str, Any]:
        """Trade an authorization code for tokens; returns the credentials to store."""
        answer = _token_request(
            base_url,
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
            },
            transport,
        )
        return credentials_from_token_answer(
            answer, client_id=client_id, client_secret=client_secret, redirect_uri=redirect_uri
        )

    def auth_headers(self) -> dict[str, str]:
        credentials = self._credentials
        if not credentials.get("access_token"):
            raise Unauthorized("The amoCRM connection has no token.", status=401)
        expires_at = credentials.get("expires_at")
        if (
            credentials.get("kind") == "oauth"
            and isinstance(expires_at, int)
            and expires_at - REFRESH_MARGIN <= _now()
        ):
            self.refresh()
        return {"Authorization": f"Bearer {self._credentials['access_token']}"}

    def refresh(self) -> None:
        """New tokens, one worker at a time: under the connection's row lock, a worker that
        finds the tokens already renewed by another (a different access token that has not
        expired) takes those; otherwise it trades the refresh token and stores the new pair
        before anything uses it."""
        from integrations.services import connection_credentials_set, connection_lock

        if self.connection is None or self._credentials.get("kind") != "oauth":
            raise Unauthorized("amoCRM refused the token; connect the account again.", status=401)
        used = self._credentials.get("access_token")
        with connection_lock(self.connection.pk) as locked:
            stored = locked.get_credentials()
            expires_at = stored.get("expires_at") or 0
            if (
                stored.get("access_token")
                and stored.get("access_token") != used
                and expires_at - REFRESH_MARGIN > _now()
            ):
                self._credentials = stored
                return
            if not stored.get("refresh_token"):
                raise Unauthorized("amoCRM refused the token; connect the account again.")
            answer = _token_request(
                self.base_url,
                {
                    "client_id": stored.get("client_id", ""),
                    "client_secret": stored.get("client_secret", ""),
                    "grant_type": "refresh_token",
                    "refresh_token": stored["refresh_token"],
                    "redirect_uri": stored.get("redirect_uri", ""),
                },
                self.transport,
            )
            fresh = credentials_from_token_answer(
                answer,
                client_id=stored.get("client_id", ""),
                client_secret=stored.get("client_secret", ""),
                redirect_uri=stored.get("redirect_uri", ""),
            )
            if stored.get("widget_secret"):  # the deal-card widget's key outlives the tokens
                fresh["widget_secret"] = stored["widget_secret"]
            connection_credentials_set(connection=locked, credentials=fresh, status=None)
        self._credentials = fresh

    def after_response(self, request: httpx.Request, response: httpx.Response) -> None:
        if self.connection is not None and request.url.path.startswith("/api/"):
            usage.count_request(self.connection.pk)

    def retry_after_hint(self, response: httpx.Response) -> str | None:
        try:
            value = response.json().get("retry_after")
        except (ValueError, AttributeError):
            return None
        return str(value) if value is not None else None

    # --- Reads ----------------------------------------------------------------------------

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise IntegrationError(
                f"amoCRM answered {response.request.url.path} with something that is not JSON",
                status=response.status_code,
            ) from exc

    def _get_one(self, path: str, params: Any = None) -> dict[str, Any] | None:
        try:
            data = self._json(self.get(path, params=params))
        except IntegrationError as exc:
            if exc.status == 404:
                return None
            raise
        return data if isinstance(data, dict) else None

    def _pages(self, path: str, key: str, params: list[tuple[str, Any]]) -> Iterator[dict]:
        page = 1
        while True:
            data = self._json(
                self.get(path, params=[*params, ("page", page), ("limit", PAGE_LIMIT)])
            )
            if not isinstance(data, dict):
                return
            items = (data.get("_embedded") or {}).get(key) or []
            yield from items
            if not items or not ((data.get("_links") or {}).get("next")):
                return
            page += 1

    def account(self) -> dict[str, Any]:
        """``GET /api/v4/account``: id, subdomain, current_user_id, is_loss_reason_enabled..."""
        return self._get_one("/api/v4/account") or {}

    def pipelines(self) -> list[dict[str, Any]]:
        """Pipelines with their stages in ``_embedded.statuses`` (142 / 143 included)."""
        return list(self._pages("/api/v4/leads/pipelines", "pipelines", []))

    def users(self) -> list[dict[str, Any]]:
        return list(self._pages("/api/v4/users", "users", []))

    def loss_reasons(self) -> list[dict[str, Any]]:
        return list(self._pages("/api/v4/leads/loss_reasons", "loss_reasons", []))

    def custom_fields(self, entity: str) -> list[dict[str, Any]]:
        """All custom fields of ``"contacts"`` or ``"leads"``."""
        return list(self._pages(f"/api/v4/{_entity(entity)}/custom_fields", "custom_fields", []))

    def create_custom_fields(self, entity: str, fields: list[dict[str, Any]]) -> list[dict]:
        return self._write(
            "POST", f"/api/v4/{_entity(entity)}/custom_fields", "custom_fields", fields
        )

    def contact(self, contact_id: int) -> dict[str, Any] | None:
        return self._get_one(f"/api/v4/contacts/{int(contact_id)}", params={"with": "leads"})

    def contacts(
        self,
        *,
        ids: list[int] | None = None,
        query: str | None = None,
        updated_from: int | None = None,
        with_leads: bool = False,
    ) -> Iterator[dict[str, Any]]:
        params = _list_params(ids=ids, query=query, updated_from=updated_from)
        if with_leads:
            params.append(("with", "leads"))
        yield from self._pages("/api/v4/contacts", "contacts", params)

    def lead(self, lead_id: int) -> dict[str, Any] | None:
        """A deal with its contacts embedded, or None."""
        return self._get_one(f"/api/v4/leads/{int(lead_id)}", params={"with": "contacts"})

    def leads(
        self,
        *,
        ids: list[int] | None = None,
        query: str | None = None,
        updated_from: int | None = None,
        pipeline_id: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Deals (contacts embedded), oldest change first when ``updated_from`` is given."""
        params = _list_params(ids=ids, query=query, updated_from=updated_from)
        params.append(("with", "contacts"))
        if pipeline_id:
            params.append(("filter[pipeline_id][]", int(pipeline_id)))
        yield from self._pages("/api/v4/leads", "leads", params)

    # --- Writes (batched; each returns one result per item, in input order) ---------------

    def create_contacts(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._write("POST", "/api/v4/contacts", "contacts", items, recover="contacts")

    def update_contacts(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._write("PATCH", "/api/v4/contacts", "contacts", items)

    def create_leads(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._write("POST", "/api/v4/leads", "leads", items, recover="leads")

    def update_leads(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._write("PATCH", "/api/v4/leads", "leads", items)

    def _write(
        self,
        method: str,
        path: str,
        key: str,
        items: list[dict[str, Any]],
        *,
        recover: str | None = None,
    ) -> list[dict[str, Any]]:
        """Send ``items`` in batches; results in input order (each with ``id``).

        A batch that fails on the server's side (5xx, timeout) is cut in half and sent
        again, down to single items. A create whose answer was lost may have been made:
        before it is sent again, the items carrying a MIS ID are looked up by it (``recover``)
        and those found are not created twice."""
        numbered = [{**item, "request_id": str(index)} for index, item in enumerate(items)]
        results: dict[str, dict[str, Any]] = {}
        pending = [
            numbered[i : i + self.batch_size] for i in range(0, len(numbered), self.batch_size)
        ]
        while pending:
            batch = pending.pop(0)
            try:
                response = self.request(method, path, json=batch, idempotent=method != "POST")
            except ServerError:
                if recover:
                    batch = self._drop_made(recover, batch, results)
                    if not batch:
                        continue
                if len(batch) == 1:
                    raise
                half = len(batch) // 2
                pending[:0] = [batch[:half], batch[half:]]
                continue
            data = self._json(response) or {}
            answered = (data.get("_embedded") or {}).get(key) or []
            for position, answer in enumerate(answered):
                request_id = str(answer.get("request_id", batch[position]["request_id"]))
                results[request_id] = answer
        return [results.get(str(index), {}) for index in range(len(items))]

    def _drop_made(
        self, entity: str, batch: list[dict[str, Any]], results: dict[str, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        field_id = (
            self.settings.contact_fields if entity == "contacts" else self.settings.lead_fields
        ).get("mis_id")
        left = []
        for item in batch:
            mis_id = _field_value(item, field_id=field_id, code=MIS_ID_CODE)
            found = self.find_by_mis_id(entity, mis_id, field_id=field_id) if mis_id else None
            if found:
                results[item["request_id"]] = {"id": found["id"], "recovered": True}
            else:
                left.append(item)
        return left

    def find_by_mis_id(
        self, entity: str, mis_id: str, *, field_id: int | None = None
    ) -> dict[str, Any] | None:
        """The contact or deal whose MIS ID field is exactly ``mis_id`` (the full-text query
        is fuzzy: every hit is checked)."""
        pages = self.contacts(query=mis_id) if entity == "contacts" else self.leads(query=mis_id)
        for entity_data in pages:
            if _field_value(entity_data, field_id=field_id, code=MIS_ID_CODE) == mis_id:
                return entity_data
        return None

    # --- Webhooks -------------------------------------------------------------------------

    def webhooks(self) -> list[dict[str, Any]]:
        return list(self._pages("/api/v4/webhooks", "webhooks", []))

    def webhook_add(self, destination: str, events: list[str]) -> dict[str, Any]:
        response = self.post(
            "/api/v4/webhooks",
            json={"destination": destination, "settings": list(events), "sort": 10},
            idempotent=True,  # the same destination is replaced, never doubled
        )
        return self._json(response) or {}

    def webhook_delete(self, destination: str) -> None:
        self.request("DELETE", "/api/v4/webhooks", json={"destination": destination})


def _entity(entity: str) -> str:
    if entity not in ("contacts", "leads"):
        raise ValueError(f"Unknown amoCRM entity {entity!r}")
    return entity


def _list_params(
    *, ids: list[int] | None, query: str | None, updated_from: int | None
) -> list[tuple[str, Any]]:
    params: list[tuple[str, Any]] = [("filter[id][]", int(i)) for i in ids or []]
    if query:
        params.append(("query", query))
    if updated_from is not None:
        params += [("filter[updated_at][from]", int(updated_from)), ("order[updated_at]", "asc")]
    return params


def _field_value(entity: dict[str, Any], *, field_id: int | None, code: str) -> str | None:
    """The first value of a custom field of an entity as read or as written."""
    for field in entity.get("custom_fields_values") or []:
        if (field_id and field.get("field_id") == field_id) or field.get("field_code") == code:
            values = field.get("values") or []
            if values:
                return str(values[0].get("value"))
    return None


def host_of(base_url: str) -> str:
    return urlsplit(base_url).netloc
