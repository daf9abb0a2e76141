"""Settings -> Integrations -> amoCRM: the integration's page, connecting (OAuth 2.0 or a
long-lived token) and disconnecting.

OAuth: "Connect" keeps a random ``state`` with the entered address and keys in the session
(the client secret encrypted) and sends the admin to amoCRM's authorization page; amoCRM
comes back to ``oauth_callback`` with a code, the state and the account's host
(``referer``). Only the state we made and the host entered are accepted, so a forged
redirect can neither plant another account nor send the code and secret elsewhere.
Tokens and secrets never reach a page, a log or the audit.
"""

import hmac
import logging
import re
import secrets
import time

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic import crypto
from clinic.permissions import AuthedRequest, module_required
from integrations.amocrm import setup
from integrations.amocrm.client import AmoClient
from integrations.amocrm.config import SYSTEM, AmoSettings
from integrations.amocrm.forms import ConnectOAuthForm, ConnectTokenForm
from integrations.amocrm.selectors import integration_health
from integrations.amocrm.sync import connection_get
from integrations.amocrm.widget import widget_secret
from integrations.http import Forbidden, IntegrationError, Unauthorized
from integrations.services import connection_ensure

logger = logging.getLogger(__name__)

OAUTH_SESSION_KEY = "amocrm_oauth"
OAUTH_MAX_AGE = 30 * 60  # seconds an authorization may take, amoCRM's code lives 20 min
_CODE = re.compile(r"[A-Za-z0-9._~+/=-]{1,4000}")


@module_required("settings", "view")
def integration(request: AuthedRequest) -> HttpResponse:
    connection = connection_get()
    context = {
        "tab": "integrations",
        "connection": connection,
        "amo": AmoSettings.of(connection) if connection else None,
        "health": integration_health(connection) if connection else None,
        "widget_key_set": bool(connection and widget_secret(connection)),
    }
    return render(request, "integrations/amocrm/integration.html", context)


def _redirect_uri(request: AuthedRequest) -> str:
    return setup.site_url(request.build_absolute_uri, reverse("integrations:amocrm-oauth-callback"))


def _connect_page(request, *, oauth=None, token=None, error: str = "", status: int = 200):
    connection = connection_get()
    initial = {"base_url": connection.base_url} if connection and connection.base_url else {}
    context = {
        "tab": "integrations",
        "connection": connection,
        "oauth_form": oauth or ConnectOAuthForm(prefix="oauth", initial=initial),
        "token_form": token or ConnectTokenForm(prefix="token", initial=initial),
        "redirect_uri": _redirect_uri(request),
        "error": error,
    }
    return render(request, "integrations/amocrm/connect.html", context, status=status)


@module_required("settings", "change")
def connect(request: AuthedRequest) -> HttpResponse:
    """The connect forms; their POST starts the OAuth flow or stores a long-lived token."""
    if request.method != "POST":
        return _connect_page(request)
    if request.POST.get("mode") == "token":
        return _connect_token(request)
    form = ConnectOAuthForm(request.POST, prefix="oauth")
    if not form.is_valid():
        return _connect_page(request, oauth=form, status=422)
    data = form.cleaned_data
    state = secrets.token_urlsafe(32)
    request.session[OAUTH_SESSION_KEY] = {
        "state": state,
        "base_url": data["base_url"],
        "client_id": data["client_id"],
        "client_secret": crypto.encrypt(data["client_secret"]),
        "redirect_uri": _redirect_uri(request),
        "started": int(time.time()),
    }
    url = setup.authorize_url(data["base_url"], client_id=data["client_id"], state=state)
    return redirect(url)


def _connect_token(request: AuthedRequest) -> HttpResponse:
    form = ConnectTokenForm(request.POST, prefix="token")
    if not form.is_valid():
        return _connect_page(request, token=form, status=422)
    base_url, token = form.cleaned_data["base_url"], form.cleaned_data["access_token"]
    try:
        account = setup.probe_account(base_url, token)
    except IntegrationError as error:
        form.add_error("access_token", _refusal(error))
        return _connect_page(request, token=form, status=422)
    credentials = {"kind": "long_lived", "access_token": token, "expires_at": None}
    return _connected(request, base_url, credentials, account)


def _refusal(error: IntegrationError) -> str:
    if isinstance(error, Unauthorized | Forbidden):
        return _("amoCRM refused the token.")
    return setup.failure_message(error)


def _connected(request: AuthedRequest, base_url: str, credentials: dict, account: dict):
    connection = connection_ensure(system=SYSTEM)
    other = setup.amocrm_connect(
        connection=connection,
        base_url=base_url,
        credentials=credentials,
        account=account,
        by=request.user,
    )
    amo = AmoSettings.of(connection)
    messages.success(
        request, _("amoCRM account %(subdomain)s is connected.") % {"subdomain": amo.subdomain}
    )
    if other:
        messages.warning(
            request,
            _("This is another amoCRM account than before: set the integration up again."),
        )
    if not amo.setup_done:
        return redirect("integrations:amocrm-setup", step="pipeline")
    return redirect("integrations:amocrm-integration")


@module_required("settings", "change")
def oauth_callback(request: AuthedRequest) -> HttpResponse:
    """amoCRM's redirect after the admin allowed (or refused) access."""
    pending = request.session.pop(OAUTH_SESSION_KEY, None)
    state = request.GET.get("state", "")
    if not (
        isinstance(pending, dict)
        and state
        and hmac.compare_digest(state.encode(), str(pending.get("state", "")).encode())
        and time.time() - pending.get("started", 0) < OAUTH_MAX_AGE
    ):
        message = _(
            "This answer from amoCRM does not belong to a connection started here (or it came "
            "too late). Start connecting again."
        )
        return _connect_page(request, error=message, status=400)
    if request.GET.get("error"):
        message = _("Access was not granted in amoCRM, so nothing was connected.")
        return _connect_page(request, error=message, status=400)
    base_url = pending["base_url"]
    if not setup.referer_matches(base_url, request.GET.get("referer", "")):
        message = _(
            "amoCRM answered for another account than %(address)s: nothing was connected."
        ) % {"address": base_url}
        return _connect_page(request, error=message, status=400)
    code = request.GET.get("code", "")
    if not _CODE.fullmatch(code):
        message = _("amoCRM's answer carries no authorization code. Start connecting again.")
        return _connect_page(request, error=message, status=400)
    return _trade_code(request, pending, code)


def _trade_code(request: AuthedRequest, pending: dict, code: str) -> HttpResponse:
    client_id, redirect_uri = pending["client_id"], pending["redirect_uri"]
    client_secret = crypto.decrypt(pending["client_secret"])
    try:
        tokens = AmoClient.exchange_code(
            base_url=pending["base_url"],
            client_id=client_id,
            client_secret=client_secret,
            code=code,
            redirect_uri=redirect_uri,
        )
        if not isinstance(tokens, dict) or not tokens.get("access_token"):
            raise IntegrationError("amoCRM answered the code without an access token")
        account = setup.probe_account(pending["base_url"], tokens["access_token"])
    except IntegrationError as error:
        logger.info("amoCRM OAuth connect failed: %s", error)
        message = _("amoCRM did not accept the authorization: %(reason)s Start connecting again.")
        return _connect_page(request, error=message % {"reason": _refusal(error)}, status=400)
    credentials = {
        "kind": "oauth",
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uri": redirect_uri,
        "access_token": tokens["access_token"],
        "refresh_token": tokens.get("refresh_token", ""),
        "expires_at": tokens.get("expires_at"),
    }
    return _connected(request, pending["base_url"], credentials, account)


@require_POST
@module_required("settings", "change")
def disconnect(request: AuthedRequest) -> HttpResponse:
    connection = connection_get()
    if connection is None or not connection.has_credentials:
        messages.info(request, _("amoCRM is not connected."))
        return redirect("integrations:amocrm-integration")
    setup.amocrm_disconnect(connection=connection, by=request.user)
    messages.success(
        request,
        _("amoCRM is disconnected. Links of patients and visits to contacts and deals are kept."),
    )
    return redirect("integrations:amocrm-integration")
