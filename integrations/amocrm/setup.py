"""Connecting an amoCRM account and setting it up: what the connect pages and the setup
wizard do besides showing forms (the views stay short; this talks to amoCRM).

- the account's address: only ``https://<sub>.amocrm.ru`` / ``https://<sub>.kommo.com``
  (and loopback under ``settings.AMOCRM_ALLOW_LOOPBACK``), so a token is never sent
  anywhere else (``account_address``); the OAuth authorization page of that address
  (``authorize_url``) and the redirect's ``referer`` check (``referer_matches``);
- a token tried before it is stored (``probe_account``), then stored with the account's
  id and subdomain (``amocrm_connect``); ``amocrm_disconnect`` forgets it;
- the wizard's steps: the MIS ID custom fields (``ensure_mis_id_field``), the default
  stage mapping by stage names (``default_status_maps``), the webhook (``webhook_register``).
"""

import logging
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from integrations.amocrm.client import AmoClient
from integrations.amocrm.config import (
    DEFAULT_WEBHOOK_EVENTS,
    LOST,
    SYSTEM,
    VISIT_STATUSES,
    WON,
    AmoSettings,
)
from integrations.http import Forbidden, IntegrationError, RateLimited, ServerError, Unauthorized
from integrations.models import Connection
from integrations.services import (
    connection_credentials_set,
    connection_disconnect,
    connection_settings_update,
)

logger = logging.getLogger(__name__)

_ACCOUNT_HOST = re.compile(r"(?!www\.)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.(amocrm\.ru|kommo\.com)")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
AUTHORIZE_PAGES = {
    "amocrm.ru": "https://www.amocrm.ru/oauth",
    "kommo.com": "https://www.kommo.com/oauth",
}

# What an account's settings hold that belongs to that account only (ids of its fields,
# stages, users): another account connected in its place starts its setup anew.
PER_ACCOUNT_KEYS = (
    "pipeline_id",
    "contact_fields",
    "gender_enums",
    "lead_fields",
    "status_to_stage",
    "stage_to_status",
    "loss_reason_id",
    "users",
    "webhook_destination",
)

MIS_ID_CODE = "MIS_ID"
MIS_ID_FIELD = {
    "name": "MIS ID",
    "type": "text",
    "code": MIS_ID_CODE,
    "sort": 510,
    "is_api_only": True,
}


# --- The account's address and OAuth -------------------------------------------------------


def account_address(value: str) -> str:
    """The account's address as ``https://<host>`` (a pasted page address loses its path);
    ``ValidationError`` for anything that is not an amoCRM / Kommo account."""
    refused = ValidationError(
        _(
            "Enter your account's address, such as https://clinic.amocrm.ru or https://clinic.kommo.com."
        ),
        code="invalid_account",
    )
    value = (value or "").strip()
    if not value or len(value) > 300:
        raise refused
    if "://" not in value:
        value = f"https://{value}"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as error:
        raise refused from error
    host = parts.hostname or ""
    if parts.username or parts.password:
        raise refused
    if parts.scheme == "https" and port in (None, 443) and _ACCOUNT_HOST.fullmatch(host):
        return f"https://{host}"
    if (
        settings.AMOCRM_ALLOW_LOOPBACK
        and host in LOOPBACK_HOSTS
        and parts.scheme in ("http", "https")
    ):
        return f"{parts.scheme}://{host}:{port}" if port else f"{parts.scheme}://{host}"
    raise refused


def authorize_url(base_url: str, *, client_id: str, state: str) -> str:
    """amoCRM's page where the account's admin grants access (the fake's own on loopback)."""
    host = urlsplit(base_url).hostname or ""
    page = next(
        (url for suffix, url in AUTHORIZE_PAGES.items() if host.endswith(f".{suffix}")),
        f"{base_url}/oauth",
    )
    return f"{page}?{urlencode({'client_id': client_id, 'state': state})}"


def referer_matches(base_url: str, referer: str) -> bool:
    """Whether the OAuth redirect's ``referer`` (``clinic.amocrm.ru``) is the account entered:
    a forged one must not send the code (and the client secret) to another host."""
    referer = referer.strip().lower()
    if not referer:
        return False
    netloc = urlsplit(referer).netloc if "://" in referer else referer.rstrip("/")
    return netloc == urlsplit(base_url).netloc.lower()


def site_url(build_absolute_uri: Callable[[str], str], path: str) -> str:
    """An absolute address of this site that amoCRM can reach: ``ODONTA_PUBLIC_URL`` when set
    (behind a proxy the request's own host may be an internal one)."""
    if settings.ODONTA_PUBLIC_URL:
        return settings.ODONTA_PUBLIC_URL.rstrip("/") + path
    return build_absolute_uri(path)


# --- Connecting ----------------------------------------------------------------------------


def probe_account(base_url: str, access_token: str) -> dict[str, Any]:
    """``GET /api/v4/account`` with a token not stored yet: raises ``IntegrationError``
    (``Unauthorized`` for a refused token, never refreshed here)."""
    probe = Connection(system=SYSTEM, base_url=base_url)
    probe.set_credentials({"kind": "long_lived", "access_token": access_token, "expires_at": None})
    with AmoClient(probe, max_attempts=2) as client:
        account = client.account()
    if not isinstance(account, dict) or _positive_int(account.get("id")) is None:
        raise IntegrationError("amoCRM answered without an account id")
    return account


@transaction.atomic
def amocrm_connect(
    *,
    connection: Connection,
    base_url: str,
    credentials: dict[str, Any],
    account: dict[str, Any],
    by=None,
) -> bool:
    """Store the credentials, the address and the account's id and subdomain. Returns True
    when this is another account than the one set up before: its setup starts anew (the
    stored field, stage and user ids were the other account's)."""
    account_id = _positive_int(account.get("id"))
    values: dict[str, Any] = {
        "account_id": account_id,
        "subdomain": str(account.get("subdomain") or "")[:100],
    }
    previous = AmoSettings.of(connection).account_id
    other_account = previous is not None and previous != account_id
    if other_account:
        values.update(dict.fromkeys(PER_ACCOUNT_KEYS))
        values["setup_done"] = False
    connection_settings_update(connection=connection, values=values, base_url=base_url, by=by)
    connection_credentials_set(connection=connection, credentials=credentials, by=by)
    return other_account


def amocrm_disconnect(*, connection: Connection, by=None) -> Connection:
    """Remove our webhook from amoCRM if we can (a failure is ignored: the account may be
    gone), forget the credentials; links to contacts and deals stay for a reconnect."""
    destination = str(connection.settings.get("webhook_destination") or "")
    if destination and connection.has_credentials:
        try:
            with AmoClient(connection, max_attempts=1) as client:
                client.webhook_delete(destination)
        except IntegrationError as error:
            logger.info("amoCRM webhook not removed on disconnect: %s", error)
    with transaction.atomic():
        connection_settings_update(
            connection=connection, values={"webhook_destination": None, "setup_done": False}, by=by
        )
        return connection_disconnect(connection=connection, by=by)


# --- The wizard ----------------------------------------------------------------------------


def ensure_mis_id_field(client: AmoClient, entity: str, fields: Iterable[dict[str, Any]]) -> int:
    """The id of the ``MIS_ID`` text field of ``entity`` ("contacts" / "leads"), created if
    ``fields`` (the entity's custom fields, as read) has none: running it again creates nothing."""
    for field in fields:
        if str(field.get("code") or "").upper() == MIS_ID_CODE and _positive_int(field.get("id")):
            return int(field["id"])
    created = client.create_custom_fields(entity, [dict(MIS_ID_FIELD)])
    field_id = _positive_int(created[0].get("id")) if created else None
    if field_id is None:
        raise IntegrationError(f"amoCRM did not create the MIS ID field of {entity}")
    return field_id


def active_pipelines(pipelines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in pipelines if not p.get("is_archive") and _positive_int(p.get("id"))]


def pipeline_stages(pipeline: dict[str, Any]) -> list[dict[str, Any]]:
    """The pipeline's stages in their order, "closed - won" (142) and "closed - lost" (143)
    last (amoCRM lists them; they are added if an answer lacks them)."""
    stages = [
        s
        for s in (pipeline.get("_embedded") or {}).get("statuses") or []
        if _positive_int(s.get("id"))
    ]
    ids = {int(s["id"]) for s in stages}
    if WON not in ids:
        stages.append({"id": WON, "name": _("Closed - won"), "sort": 10000})
    if LOST not in ids:
        stages.append({"id": LOST, "name": _("Closed - lost"), "sort": 11000})
    return sorted(stages, key=lambda s: (_sort_key(s.get("sort")), int(s["id"])))


def _sort_key(value: Any) -> int:
    return value if isinstance(value, int) else 0


# Words of stage names (lower case, Russian and English) that suggest a visit status. The
# first status whose word a stage's name holds wins: "не пришёл" is a no-show before
# "пришёл" makes it an arrival, "запись подтверждена" is confirmed before "запись" plans it,
# and "записан на приём" is planned before "на приём" seats the patient.
STAGE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("no_show", ("не приш", "неяв", "no show", "no-show", "noshow")),
    ("cancelled", ("отмен", "cancel")),
    ("completed", ("заверш", "оказан", "выполн", "complete", "done")),
    ("confirmed", ("подтвер", "confirm")),
    ("planned", ("запис", "назнач", "план", "book", "plan", "schedul")),
    ("arrived", ("приш", "приход", "приеха", "arriv")),
    ("in_chair", ("в кресле", "на приём", "на прием", "in chair", "in progress")),
)


def default_status_maps(stages: list[dict[str, Any]]) -> tuple[dict[str, int], dict[str, str]]:
    """Suggested ``status_to_stage`` and ``stage_to_status`` from the stages' names: a completed
    visit wins the deal, a cancelled one or a no-show loses it, unless a stage says so."""
    status_to_stage: dict[str, int] = {}
    stage_to_status: dict[str, str] = {}
    for stage in stages:
        stage_id = int(stage["id"])
        if stage_id in (WON, LOST):
            continue
        name = str(stage.get("name") or "").lower()
        status = next((code for code, words in STAGE_WORDS if any(w in name for w in words)), None)
        if status is None:
            continue
        stage_to_status[str(stage_id)] = status
        status_to_stage.setdefault(status, stage_id)
    if "planned" not in status_to_stage:
        first = next(
            (s for s in stages if int(s["id"]) not in (WON, LOST) and s.get("type") != 1), None
        )
        if first is not None:
            status_to_stage["planned"] = int(first["id"])
            stage_to_status.setdefault(str(first["id"]), "planned")
    status_to_stage.setdefault("completed", WON)
    status_to_stage.setdefault("cancelled", LOST)
    status_to_stage.setdefault("no_show", LOST)
    stage_to_status.setdefault(str(WON), "completed")
    stage_to_status.setdefault(str(LOST), "cancelled")
    return (
        {code: status_to_stage[code] for code in VISIT_STATUSES if code in status_to_stage},
        stage_to_status,
    )


def hook_prefix(destination: str) -> str:
    """``https://site/integrations/amocrm/hook/`` of ``.../hook/<secret>/``."""
    return destination.rstrip("/").rsplit("/", 1)[0] + "/"


def webhook_register(
    *, connection: Connection, client: AmoClient, destination_for: Callable[[str], str], by=None
) -> Connection:
    """Make the webhook secret if there is none, register ``destination_for(secret)`` for the
    sync's events (an earlier destination of ours removed first) and mark the setup done."""
    secret = AmoSettings.of(connection).webhook_secret
    if not secret:
        secret = secrets.token_urlsafe(32)
        # Stored before amoCRM knows it: a webhook to an unknown secret would be lost.
        connection_settings_update(connection=connection, values={"webhook_secret": secret}, by=by)
    destination = destination_for(secret)
    ours = {str(connection.settings.get("webhook_destination") or "")}
    prefix = hook_prefix(destination)
    for hook in client.webhooks():
        address = str(hook.get("destination") or "")
        if address and (address in ours or address.startswith(prefix)):
            client.webhook_delete(address)
    client.webhook_add(destination, list(DEFAULT_WEBHOOK_EVENTS))
    return connection_settings_update(
        connection=connection,
        values={"webhook_destination": destination, "setup_done": True},
        by=by,
    )


def failure_message(error: IntegrationError) -> str:
    """What a person is told when a call to amoCRM failed (never its body: it may echo data)."""
    if isinstance(error, Unauthorized):
        return _("amoCRM refused the token: reconnect the account.")
    if isinstance(error, Forbidden):
        return _(
            "amoCRM refused access (the account is blocked or the user lacks the rights): "
            "the connection is paused. Check the account, then reconnect."
        )
    if isinstance(error, RateLimited):
        return _("amoCRM asks to slow down: try again in a minute.")
    if isinstance(error, ServerError):
        return _("amoCRM did not answer: try again later.")
    if error.status:
        return _("amoCRM answered with an error (HTTP %(status)s).") % {"status": error.status}
    return _("amoCRM answered something unexpected: try again later.")


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None
