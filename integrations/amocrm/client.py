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

import httpx

from integrations import http
from integrations.amocrm.config import AmoSettings
from integrations.http import ApiClient, IntegrationError, ServerError, Unauthorized
from integrations.models import Connection

PAGE_LIMIT = 250
REFRESH_MARGIN = 60  # seconds before expiry an access token is renewed


class AmoClient(ApiClient):
    system = "amocrm"

    def __init__(self, connection: Connection | None = None, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self.batch_size = AmoSettings.of(connection).batch_size if connection else 50

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
        raise NotImplementedError

    def auth_headers(self) -> dict[str, str]:
        raise NotImplementedError

    def refresh(self) -> None:
        raise NotImplementedError

    # --- Reads ----------------------------------------------------------------------------

    def account(self) -> dict[str, Any]:
        """``GET /api/v4/account``: id, subdomain, current_user_id, is_loss_reason_enabled..."""
        raise NotImplementedError

    def pipelines(self) -> list[dict[str, Any]]:
        """Pipelines with their stages in ``_embedded.statuses`` (142 / 143 included)."""
        raise NotImplementedError

    def users(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def loss_reasons(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def custom_fields(self, entity: str) -> list[dict[str, Any]]:
        """All custom fields of ``"contacts"`` or ``"leads"``."""
        raise NotImplementedError

    def create_custom_fields(self, entity: str, fields: list[dict[str, Any]]) -> list[dict]:
        raise NotImplementedError

    def contact(self, contact_id: int) -> dict[str, Any] | None:
        raise NotImplementedError

    def contacts(
        self,
        *,
        ids: list[int] | None = None,
        query: str | None = None,
        updated_from: int | None = None,
        with_leads: bool = False,
    ) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def lead(self, lead_id: int) -> dict[str, Any] | None:
        """A deal with its contacts embedded, or None."""
        raise NotImplementedError

    def leads(
        self,
        *,
        ids: list[int] | None = None,
        query: str | None = None,
        updated_from: int | None = None,
        pipeline_id: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Deals (contacts embedded), oldest change first when ``updated_from`` is given."""
        raise NotImplementedError

    # --- Writes (batched; each returns one result per item, in input order) ---------------

    def create_contacts(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def update_contacts(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def create_leads(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def update_leads(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise NotImplementedError

    # --- Webhooks -------------------------------------------------------------------------

    def webhooks(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def webhook_add(self, destination: str, events: list[str]) -> dict[str, Any]:
        raise NotImplementedError

    def webhook_delete(self, destination: str) -> None:
        raise NotImplementedError


__all__ = ["AmoClient", "IntegrationError", "ServerError", "Unauthorized", "http", "time"]
