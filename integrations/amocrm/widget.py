"""The deal-card widget of amoCRM: its package, amoCRM's signed tokens, the panel's session.

The package (``build_zip``) is what the clinic uploads to its private integration in
amoCRM: ``manifest.json`` (location ``lcard-1``, one setting: Odonta's address),
``script.js``, ``i18n/ru.json`` and ``i18n/en.json``, and the logos. ``script.js`` only
asks Odonta for a session with amoCRM's one-time token and shows the panel in an iframe;
the panel itself is an ordinary Odonta page (``views_widget``).

amoCRM's ``X-Auth-Token`` is a JWT signed (HS256) with the integration's client secret:
``iss`` the account's address, ``aud`` our address, ``jti``, ``iat``, ``nbf``, ``exp``,
``account_id``, ``user_id``, ``subdomain``, ``client_uuid``. ``token_claims`` checks all of
it against the connection and remembers each ``jti`` until it expires (one use only).
The panel's own token (``panel_token``) is a signed, short-lived
``(connection, deal, user)`` triple carried in the panel's path: the iframe gets no cookies.
"""

import io
import json
import time
import zipfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from django.core import signing
from django.core.cache import cache
from django.utils.translation import gettext as _

from integrations.amocrm.config import AmoSettings
from integrations.models import Connection

VERSION = "1.0.0"
SETTING = "odonta_url"
SESSION_PATH = "/integrations/amocrm/widget/session/"
PANEL_SALT = "integrations.amocrm.widget.panel"
PANEL_MAX_AGE = 30 * 60  # seconds a panel opened in a deal card keeps working
TOKEN_LEEWAY = 30  # seconds of clock difference tolerated on amoCRM's token
TOKEN_LONGEST = 2 * 3600  # a token meant to live longer than this is not amoCRM's
LEAD_ID_MAX = 2**53  # amoCRM's ids are JSON numbers

# Logos amoCRM shows for an integration, (width, height).
LOGOS = {
    "logo.png": (130, 100),
    "logo_main.png": (400, 272),
    "logo_medium.png": (240, 84),
    "logo_min.png": (84, 84),
    "logo_small.png": (108, 108),
    "logo_dp.png": (174, 109),
}

I18N: dict[str, dict[str, Any]] = {
    "ru": {
        "widget": {
            "name": "Odonta: запись пациента",
            "short_description": "Визит сделки в Odonta",
            "description": (
                "Показывает в карточке сделки визит из Odonta: дату, время, врача, услуги и "
                "статус. Визит можно изменить, отменить или записать пациента по свободному "
                "времени клиники."
            ),
            "tour_description": "Визит сделки в Odonta",
        },
        "settings": {"odonta_url": "Адрес Odonta (https://...)"},
        "panel": {
            "title": "Odonta",
            "loading": "Загрузка…",
            "error": "Odonta не ответила. Проверьте адрес Odonta в настройках виджета.",
        },
    },
    "en": {
        "widget": {
            "name": "Odonta: patient booking",
            "short_description": "The deal's visit in Odonta",
            "description": (
                "Shows the deal's visit from Odonta in the deal card: date, time, doctor, "
                "services and status. The visit can be edited or cancelled, or the patient "
                "booked into the clinic's free times."
            ),
            "tour_description": "The deal's visit in Odonta",
        },
        "settings": {"odonta_url": "Odonta's address (https://...)"},
        "panel": {
            "title": "Odonta",
            "loading": "Loading…",
            "error": "Odonta did not answer. Check Odonta's address in the widget's settings.",
        },
    },
}


def manifest(base_url: str) -> dict[str, Any]:
    return {
        "widget": {
            "name": "widget.name",
            "description": "widget.description",
            "short_description": "widget.short_description",
            "version": VERSION,
            "interface_version": 2,
            "init_once": False,
            "locale": ["ru", "en"],
            "installation": True,
            "support": {"link": base_url, "email": ""},
        },
        "locations": ["lcard-1"],
        "tour": {
            "is_tour": False,
            "tour_images": {"ru": [], "en": []},
            "tour_description": "widget.tour_description",
        },
        "settings": {SETTING: {"name": f"settings.{SETTING}", "type": "text", "required": True}},
    }


# The whole widget on amoCRM's side: ask for a session, show the panel. Odonta's address is
# the setting, else the one baked in when the package was downloaded.
SCRIPT = """define(['jquery'], function ($) {
  'use strict';
  var DEFAULT_URL = __ODONTA_URL__;

  return function () {
    var self = this;

    function base() {
      var settings = self.get_settings() || {};
      return String(settings.odonta_url || DEFAULT_URL).replace(/\\/+$/, '');
    }
    function escape(text) {
      return String(text).replace(/[&<>"']/g, function (c) {
        return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
      });
    }
    function show(html) {
      self.render_template({caption: {class_name: 'odonta-panel-caption'}, body: '', render: html});
    }

    this.callbacks = {
      render: function () {
        var card = APP.data.current_card;
        if (self.system().area !== 'lcard' || !card || !card.id) {
          return true;
        }
        var text = self.i18n('panel') || {};
        show('<p data-odonta-loading>' + escape(text.loading || '') + '</p>');
        self.$authorizedAjax({
          url: base() + '__SESSION_PATH__',
          method: 'POST',
          data: {lead_id: card.id}
        }).done(function (answer) {
          show('<iframe data-odonta-panel src="' + escape(answer.url) + '" title="Odonta"' +
            ' style="width:100%;height:560px;border:0"></iframe>');
        }).fail(function (xhr) {
          var answer = xhr && xhr.responseJSON;
          show('<p data-odonta-error>' + escape((answer && answer.error) || text.error) + '</p>');
        });
        return true;
      },
      init: function () { return true; },
      bind_actions: function () { return true; },
      settings: function () { return true; },
      onSave: function () { return true; },
      destroy: function () { return true; }
    };
    return this;
  };
});
"""


def script_js(base_url: str) -> str:
    return SCRIPT.replace("__ODONTA_URL__", json.dumps(base_url)).replace(
        "__SESSION_PATH__", SESSION_PATH
    )


def _logo(size: tuple[int, int]) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, (14, 116, 144))
    draw = ImageDraw.Draw(image)
    radius = min(size) * 0.32
    cx, cy = size[0] / 2, size[1] / 2
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline="white", width=6)
    output = io.BytesIO()
    image.save(output, "PNG", optimize=True)
    return output.getvalue()


def package_files(base_url: str) -> dict[str, bytes]:
    """The widget's files by their path in the archive (UTF-8, no BOM)."""
    files = {
        "manifest.json": json.dumps(manifest(base_url), ensure_ascii=False, indent=2).encode(),
        "script.js": script_js(base_url).encode(),
    }
    for language, texts in I18N.items():
        files[f"i18n/{language}.json"] = json.dumps(texts, ensure_ascii=False, indent=2).encode()
    for name, size in LOGOS.items():
        files[f"images/{name}"] = _logo(size)
    return files


def build_zip(base_url: str) -> bytes:
    """The package to upload to a private integration of amoCRM (files at the root)."""
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in package_files(base_url).items():
            archive.writestr(name, content)
    return output.getvalue()


# --- amoCRM's token -----------------------------------------------------------------------


class Refused(Exception):
    """A request the widget's endpoints turn down, with the message the panel shows."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def widget_secret(connection: Connection) -> str:
    """The secret amoCRM signs the widget's tokens with: the one entered for the widget, else
    the client secret of the OAuth integration the clinic connected with."""
    credentials = connection.get_credentials()
    return str(credentials.get("widget_secret") or credentials.get("client_secret") or "")


def token_claims(token: str, *, connection: Connection, audiences: list[str]) -> dict[str, Any]:
    """amoCRM's verified claims, used up (a second use of the token is refused)."""
    secret = widget_secret(connection)
    if not secret:
        raise Refused(
            _("Enter the integration's secret key for the widget on Odonta's amoCRM page.")
        )
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=audiences,
            leeway=TOKEN_LEEWAY,
            options={"require": ["iss", "aud", "jti", "iat", "nbf", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise Refused(_("amoCRM's token has expired: reload the deal card.")) from None
    except jwt.ImmatureSignatureError:
        raise Refused(_("amoCRM's token is not valid yet: check the computer's clock.")) from None
    except jwt.InvalidAudienceError:
        raise Refused(_("amoCRM's token was made for another address than this Odonta.")) from None
    except jwt.InvalidTokenError:
        raise Refused(_("amoCRM's token is not valid.")) from None
    settings = AmoSettings.of(connection)
    if not settings.account_id or _int(claims.get("account_id")) != settings.account_id:
        raise Refused(_("The widget runs in another amoCRM account than the connected one."))
    if origin_of(str(claims["iss"])) != origin_of(connection.base_url):
        raise Refused(_("The widget runs in another amoCRM account than the connected one."))
    exp, iat = _int(claims.get("exp")), _int(claims.get("iat"))
    if exp is None or iat is None or exp - iat > TOKEN_LONGEST:
        raise Refused(_("amoCRM's token is not valid."))
    jti = str(claims["jti"])
    if not jti or len(jti) > 200:
        raise Refused(_("amoCRM's token is not valid."))
    lifetime = max(exp - int(time.time()) + TOKEN_LEEWAY, 1)
    if not cache.add(f"amocrm-widget-jti:{connection.pk}:{jti}", 1, timeout=lifetime):
        raise Refused(_("amoCRM's token was already used: reload the deal card."))
    return claims


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < LEAD_ID_MAX else None


def lead_id_of(value: Any) -> int:
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 16:
        raise Refused(_("The deal's id is missing or not a number."), status=400)
    lead_id = _int(text)
    if lead_id is None:
        raise Refused(_("The deal's id is missing or not a number."), status=400)
    return lead_id


# --- The panel's session ------------------------------------------------------------------


@dataclass(frozen=True)
class PanelSession:
    connection_id: int
    lead_id: int
    user_id: int


def panel_token(session: PanelSession) -> str:
    data = {"c": session.connection_id, "l": session.lead_id, "u": session.user_id}
    return signing.dumps(data, salt=PANEL_SALT, compress=False)


def panel_session(token: str) -> PanelSession:
    """The session a panel token carries; ``Refused`` for a forged or expired one."""
    try:
        data = signing.loads(token, salt=PANEL_SALT, max_age=PANEL_MAX_AGE)
    except signing.SignatureExpired:
        raise Refused(_("This panel has expired: reload the deal card.")) from None
    except signing.BadSignature:
        raise Refused(_("This panel's address is not valid: reload the deal card.")) from None
    if not isinstance(data, dict):
        raise Refused(_("This panel's address is not valid: reload the deal card."))
    ids = [_int(data.get(key)) for key in ("c", "l", "u")]
    if any(value is None for value in ids):
        raise Refused(_("This panel's address is not valid: reload the deal card."))
    connection_id, lead_id, user_id = (int(value or 0) for value in ids)
    return PanelSession(connection_id, lead_id, user_id)
