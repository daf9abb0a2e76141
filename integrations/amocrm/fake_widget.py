"""The fake amoCRM's side of a deal-card widget: the uploaded package, the one-time tokens
amoCRM signs for it, and a deal card that runs its ``script.js``.

``/leads/detail/<id>`` is a bare deal card with a right panel. It loads the uploaded
widget's ``script.js`` through a small shim of amoCRM's widget environment (``define``,
``APP.data.current_card``, ``system()``, ``get_settings()``, ``i18n()``,
``render_template()`` and ``$authorizedAjax``, which fetches a token from
``/widget/token`` and sends it as ``X-Auth-Token``), so a browser really makes the
cross-origin request (and its CORS preflight) to Odonta and loads the panel's iframe.
The package comes from the desk's "Upload widget" form or ``install_widget``.
"""

import email.parser
import email.policy
import io
import json
import re
import secrets
import time
import zipfile
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jwt

from integrations.fakes import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from integrations.amocrm.fake import FakeAmo

TOKEN_LIFETIME = 30 * 60
_CARD = re.compile(r"/leads/detail/([0-9]{1,12})")
_TYPES = {".js": "application/javascript", ".json": "application/json", ".png": "image/png"}


def mint_token(fake: "FakeAmo", *, aud: str, user_id: int | None = None, **overrides: Any) -> str:
    """A one-time token as amoCRM signs it for a widget's ``$authorizedAjax`` (HS256 with the
    integration's client secret). ``overrides`` replace claims (None removes one)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": fake.base,
        "aud": aud,
        "jti": secrets.token_hex(16),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME,
        "account_id": fake.account_id,
        "user_id": user_id or fake.user_ids[1],
        "subdomain": fake.subdomain,
        "client_uuid": fake.client_id,
    }
    secret = overrides.pop("secret", fake.client_secret)
    for key, value in overrides.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    return jwt.encode(claims, secret, algorithm="HS256")


def install_widget(fake: "FakeAmo", package: bytes, settings: dict[str, str] | None = None):
    """Upload a widget package (a zip) to the fake's integration."""
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    if "manifest.json" not in files or "script.js" not in files:
        raise ValueError("A widget package has manifest.json and script.js at its root.")
    with fake.lock:
        fake.widget_files = files
        fake.widget_settings = {key: value for key, value in (settings or {}).items() if value}


def handle(fake: "FakeAmo", request: FakeRequest, path: str) -> FakeResponse | None:
    """The widget's pages, or None when ``path`` is not one of them."""
    if request.method == "GET" and (match := _CARD.fullmatch(path)):
        return _card(fake, int(match.group(1)))
    if request.method == "GET" and path == "/widget/token":
        aud = (request.query.get("aud") or [""])[-1]
        if not urlsplit(aud).netloc:
            return FakeResponse.json({"error": "aud is the widget backend's address"}, 400)
        user = (request.query.get("user_id") or [""])[-1]
        token = mint_token(fake, aud=aud, user_id=int(user) if user.isdigit() else None)
        return FakeResponse.json({"token": token})
    if request.method == "GET" and path.startswith("/widget/files/"):
        name = path.removeprefix("/widget/files/")
        content = fake.widget_files.get(name)
        if content is None:
            return FakeResponse(404, b"no such file in the widget")
        kind = _TYPES.get(name[name.rfind(".") :], "application/octet-stream")
        return FakeResponse(200, content, {"Content-Type": kind})
    if request.method == "POST" and path == "/desk/widget":
        return _upload(fake, request)
    return None


def _upload(fake: "FakeAmo", request: FakeRequest) -> FakeResponse:
    head = f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    package, settings = b"", {}
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        if name == "package":
            package = content
        elif name == "odonta_url":
            settings["odonta_url"] = content.decode("utf-8", "replace").strip()
    try:
        install_widget(fake, package, settings)
    except (ValueError, zipfile.BadZipFile) as error:
        body = f"<p id='error'>{escape(str(error))}</p><p><a href='/'>Назад</a></p>"
        return FakeResponse(400, body.encode(), {"Content-Type": "text/html; charset=utf-8"})
    return FakeResponse(303, b"", {"Location": "/"})


def desk_section(fake: "FakeAmo") -> str:
    """The desk's "Upload widget" form."""
    installed = "установлен" if fake.widget_files else "не загружен"
    return (
        f"<h2>Виджет ({installed})</h2><form method='post' action='/desk/widget' "
        "enctype='multipart/form-data'><input type='file' name='package' accept='.zip'> "
        "<input name='odonta_url' placeholder='Адрес Odonta (по умолчанию из архива)' "
        "size='40'> <button id='upload-widget'>Загрузить виджет</button></form>"
    )


def _i18n(fake: "FakeAmo") -> dict[str, Any]:
    raw = fake.widget_files.get("i18n/ru.json")
    return json.loads(raw) if raw else {}


SHIM = """
window.APP = {data: {current_card: {id: %(lead)s}}};
(function () {
  var i18n = %(i18n)s, settings = %(settings)s;
  function deferred() {
    var done = [], fail = [], promise = {
      done: function (f) { done.push(f); return promise; },
      fail: function (f) { fail.push(f); return promise; }
    };
    return {promise: promise, resolve: function (v) { done.forEach(function (f) { f(v); }); },
            reject: function (v) { fail.forEach(function (f) { f(v); }); }};
  }
  function $(selector) { return document.querySelector(selector); }
  window.define = function (deps, factory) {
    var Widget = factory($), widget = {
      system: function () {
        return {area: 'lcard', subdomain: %(subdomain)s, amouser_id: %(user)s};
      },
      get_settings: function () { return settings; },
      i18n: function (key) { return i18n[key]; },
      render_template: function (options) {
        document.getElementById('widget-panel').innerHTML = options.render || options.body || '';
      },
      $authorizedAjax: function (options) {
        var result = deferred(), target = new URL(options.url);
        fetch('/widget/token?user_id=%(user)s&aud=' + encodeURIComponent(target.origin))
          .then(function (answer) { return answer.json(); })
          .then(function (minted) {
            return fetch(options.url, {
              method: options.method || 'GET',
              headers: {'X-Auth-Token': minted.token,
                        'Content-Type': 'application/x-www-form-urlencoded'},
              body: new URLSearchParams(options.data || {}).toString()
            });
          })
          .then(function (answer) {
            return answer.text().then(function (text) {
              var json = null;
              try { json = JSON.parse(text); } catch (e) { json = null; }
              if (answer.ok) { result.resolve(json); }
              else { result.reject({status: answer.status, responseJSON: json}); }
            });
          })
          .catch(function () { result.reject({status: 0, responseJSON: null}); });
        return result.promise;
      }
    };
    Widget.call(widget);
    ['render', 'init', 'bind_actions'].forEach(function (name) { widget.callbacks[name](); });
  };
})();
"""


def _card(fake: "FakeAmo", lead_id: int) -> FakeResponse:
    lead = fake.leads.get(lead_id)
    if lead is None:
        return FakeResponse(404, "Нет такой сделки".encode(), {"Content-Type": "text/plain"})
    user = fake.user_ids[1]
    shim = SHIM % {
        "lead": lead_id,
        "i18n": json.dumps(_i18n(fake), ensure_ascii=False),
        "settings": json.dumps(fake.widget_settings, ensure_ascii=False),
        "subdomain": json.dumps(fake.subdomain),
        "user": user,
    }
    contacts = (lead.get("_embedded") or {}).get("contacts") or []
    stages = {
        s["id"]: s["name"]
        for pipeline in fake.state.pipelines.values()
        for s in pipeline["statuses"]
    }
    stage = stages.get(lead["status_id"], str(lead["status_id"]))
    widget = (
        "<script>" + shim.replace("</", "<\\/") + "</script>"
        "<script src='/widget/files/script.js'></script>"
        if fake.widget_files
        else "<p id='no-widget'>Виджет не загружен</p>"
    )
    page = (
        "<!doctype html><html lang='ru'><meta charset='utf-8'><title>Сделка (fake)</title>"
        "<style>body{font:14px sans-serif;margin:0;display:flex}main{flex:1;padding:1em 2em}"
        "aside{width:320px;border-left:1px solid #ccc;padding:.5em;min-height:100vh}</style>"
        f"<main><p><a href='/'>← Сделки</a></p><h1 data-lead='{lead_id}'>"
        f"{escape(lead['name'])}</h1><p>Этап: <span data-stage>{escape(stage)}</span></p>"
        f"<p>Контакт: {', '.join(str(c['id']) for c in contacts) or '—'}</p></main>"
        f"<aside><div id='widget-panel'></div>{widget}</aside></html>"
    )
    return FakeResponse(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
