"""The routes of ``FakeAmo``: the API v4 endpoints the sync uses, and the OAuth page.

Called by ``FakeAmo`` with its lock held, after the gate (block, rate, auth, payment,
injected failures); each handler reads or writes ``fake.state`` and returns a response.
"""

import json
import re
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from integrations.amocrm.fake_hooks import KNOWN_SETTINGS
from integrations.amocrm.fake_state import FIELD_TYPES, PAGE_MAX, ValidationFailed, as_int, error
from integrations.fakes import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from integrations.amocrm.fake import FakeAmo

HAL = "application/hal+json"
PROBLEM = "application/problem+json"
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "ErrInternalServer",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
COMPLEX_MAX = 50
EVENTS_MAX = 100


# --- Responses -------------------------------------------------------------------------------


def json_response(data: Any, status: int = 200, content_type: str = HAL) -> FakeResponse:
    body = json.dumps(data, ensure_ascii=False).encode()
    return FakeResponse(status, body, {"Content-Type": content_type})


def problem(status: int, detail: str, **extra: Any) -> FakeResponse:
    data = {
        "title": TITLES.get(status, "Error"),
        "type": f"https://httpstatus.es/{status}",
        "status": status,
        "detail": detail,
        **extra,
    }
    if status == 500:
        data["trace_id"] = "fake-trace"
    return json_response(data, status, PROBLEM)


def invalid(errors: list[dict[str, Any]]) -> FakeResponse:
    return problem(400, "Request validation failed", **{"validation-errors": errors})


def oauth_error(hint: str, status: int = 400) -> FakeResponse:
    data = {
        "hint": hint,
        "title": "Некорректный запрос",
        "type": "https://developers.amocrm.ru/v3/errors/OAuthProblemJson",
        "status": status,
        "detail": "В запросе отсутствует ряд параметров или параметры невалидны",
    }
    return json_response(data, status, PROBLEM)


def no_content() -> FakeResponse:
    return FakeResponse(204, b"", {})


def json_or_form(request: FakeRequest) -> Any:
    text = request.body.decode("utf-8", errors="replace")
    if "json" in request.headers.get("content-type", "") or text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return None
    return {key: values[-1] for key, values in parse_qs(text, keep_blank_values=True).items()}


# --- Query helpers ---------------------------------------------------------------------------


def _arg(request: FakeRequest, key: str) -> str | None:
    values = request.query.get(key)
    return values[-1] if values else None


def _filter_values(request: FakeRequest, name: str) -> list[str]:
    """``filter[name]=a,b``, ``filter[name][]=a`` or ``filter[name][0]=a``."""
    pattern = re.compile(rf"filter\[{re.escape(name)}\](\[\d*\])?")
    values: list[str] = []
    for key, items in request.query.items():
        if pattern.fullmatch(key):
            values += [part for item in items for part in item.split(",") if part]
    return values


def _ints(values: list[str]) -> set[int]:
    return {int(v) for v in values if v.strip().lstrip("-").isdigit()}


def _range(request: FakeRequest, name: str) -> tuple[int | None, int | None]:
    low, high = _arg(request, f"filter[{name}][from]"), _arg(request, f"filter[{name}][to]")
    return (
        int(low) if low and low.isdigit() else None,
        int(high) if high and high.isdigit() else None,
    )


def _statuses(request: FakeRequest) -> list[tuple[int | None, int | None]]:
    found: dict[str, dict[str, int]] = {}
    for key, items in request.query.items():
        match = re.fullmatch(r"filter\[statuses\]\[(\d+)\]\[(pipeline_id|status_id)\]", key)
        if match and items[-1].isdigit():
            found.setdefault(match[1], {})[match[2]] = int(items[-1])
    return [(pair.get("pipeline_id"), pair.get("status_id")) for pair in found.values()]


def _with(request: FakeRequest) -> set[str]:
    return {part.strip() for value in request.query.get("with", []) for part in value.split(",")}


def _paging(request: FakeRequest, most: int = PAGE_MAX) -> tuple[int, int] | FakeResponse:
    page_raw, limit_raw = _arg(request, "page") or "1", _arg(request, "limit") or "50"
    if not page_raw.isdigit() or not limit_raw.isdigit() or int(page_raw) < 1 or int(limit_raw) < 1:
        return problem(400, "page and limit are positive integers")
    if int(limit_raw) > most:
        return problem(422, f"Limit {most} per page")
    return int(page_raw), int(limit_raw)


def _href(fake: "FakeAmo", request: FakeRequest, page: int | None = None) -> str:
    query = {key: values for key, values in request.query.items() if key != "page"}
    if page is not None:
        query["page"] = [str(page)]
    text = urlencode(query, doseq=True)
    return f"{_base(fake, request)}{request.path}" + (f"?{text}" if text else "")


def _base(fake: "FakeAmo", request: FakeRequest) -> str:
    host = request.headers.get("host")
    return f"http://{host}" if host else fake.base


def _listing(
    fake: "FakeAmo",
    request: FakeRequest,
    key: str,
    items: list[Any],
    render: Callable[[Any], dict[str, Any]],
    *,
    totals: bool = False,
    most: int = PAGE_MAX,
) -> FakeResponse:
    paging = _paging(request, most)
    if isinstance(paging, FakeResponse):
        return paging
    page, limit = paging
    chunk = items[(page - 1) * limit : page * limit]
    if not chunk:
        return no_content()
    links = {"self": {"href": _href(fake, request, page)}}
    if page * limit < len(items):
        links["next"] = {"href": _href(fake, request, page + 1)}
    if page > 1:
        links["prev"] = {"href": _href(fake, request, page - 1)}
    data: dict[str, Any] = {"_page": page, "_links": links}
    if totals:
        data = {"_total_items": len(items), "_page_count": -(-len(items) // limit), **data}
    data["_embedded"] = {key: [render(item) for item in chunk]}
    return json_response(data)


def _body(request: FakeRequest) -> Any:
    """The JSON body, or a 400 response."""
    if not request.body.strip():
        return problem(400, "Request data can not be empty")
    try:
        return json.loads(request.body)
    except ValueError:
        return problem(400, "Syntax error: the body is not JSON")


# --- Routes ----------------------------------------------------------------------------------


Handler = Callable[["FakeAmo", FakeRequest, re.Match[str], int], FakeResponse]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def _route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append((method, re.compile(pattern), handler))
        return handler

    return register


def route(fake: "FakeAmo", request: FakeRequest, path: str, user_id: int) -> FakeResponse:
    allowed = False
    for method, pattern, handler in ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        if method == request.method:
            return handler(fake, request, match, user_id)
        allowed = True
    if allowed:
        return problem(405, f"Method {request.method} is not allowed for {path}")
    return problem(404, f"Cannot {request.method} {path}")


@_route("GET", r"/api/v4/account")
def account(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int) -> FakeResponse:
    state = fake.state
    data: dict[str, Any] = {
        "id": state.account_id,
        "name": "Стоматология (fake)",
        "subdomain": state.subdomain,
        "created_at": state.created_at,
        "created_by": state.admin_id,
        "updated_at": state.created_at,
        "updated_by": state.admin_id,
        "current_user_id": user_id,
        "country": "RU",
        "currency": "RUB",
        "currency_symbol": "₽",
        "customers_mode": "disabled",
        "is_unsorted_on": True,
        "is_loss_reason_enabled": True,
        "is_helpbot_enabled": False,
        "is_technical_account": False,
        "contact_name_display_order": 1,
        "amojo_id": "fake-amojo-id",
        "uuid": "fake-account-uuid",
        "version": 11,
        "_links": {"self": {"href": f"{_base(fake, request)}/api/v4/account"}},
        "_embedded": {},
    }
    if "datetime_settings" in _with(request):
        data["_embedded"]["datetime_settings"] = {
            "timezone": "Europe/Moscow",
            "timezone_offset": "+03:00",
        }
    return json_response(data)


@_route("GET", r"/api/v4/users")
def users(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int) -> FakeResponse:
    base = _base(fake, request)

    def render(user: dict) -> dict:
        return {**user, "_links": {"self": {"href": f"{base}/api/v4/users/{user['id']}"}}}

    return _listing(fake, request, "users", list(fake.state.users.values()), render, totals=True)


@_route("GET", r"/api/v4/leads/pipelines")
def pipelines(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int) -> FakeResponse:
    base = _base(fake, request)
    shown = [fake.state.render_pipeline(p, base) for p in fake.state.pipelines.values()]
    return json_response(
        {
            "_total_items": len(shown),
            "_links": {"self": {"href": f"{base}/api/v4/leads/pipelines"}},
            "_embedded": {"pipelines": shown},
        }
    )


@_route("GET", r"/api/v4/leads/pipelines/(\d+)")
def pipeline(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int) -> FakeResponse:
    found = fake.state.pipelines.get(int(match[1]))
    if found is None:
        return no_content()
    return json_response(fake.state.render_pipeline(found, _base(fake, request)))


@_route("GET", r"/api/v4/leads/loss_reasons")
def loss_reasons(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int):
    reasons = list(fake.state.loss_reasons.values())
    return _listing(fake, request, "loss_reasons", reasons, dict, totals=True)


@_route("GET", r"/api/v4/(contacts|leads)/custom_fields")
def custom_fields(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int):
    base = _base(fake, request)
    types = set(_filter_values(request, "type"))
    fields = [f for f in fake.state.fields[match[1]].values() if not types or f["type"] in types]

    def render(field: dict) -> dict:
        href = f"{base}/api/v4/{match[1]}/custom_fields/{field['id']}"
        return {**field, "_links": {"self": {"href": href}}}

    return _listing(fake, request, "custom_fields", fields, render, totals=True)


@_route("GET", r"/api/v4/(contacts|leads)/custom_fields/(\d+)")
def custom_field(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int):
    field = fake.state.fields[match[1]].get(int(match[2]))
    return json_response(dict(field)) if field else no_content()


@_route("POST", r"/api/v4/(contacts|leads)/custom_fields")
def custom_fields_add(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int):
    entity, items = match[1], _body(request)
    if isinstance(items, FakeResponse):
        return items
    if not isinstance(items, list) or not items:
        return invalid([{"request_id": "0", "errors": [error("InvalidType", "", "An array.")]}])
    errors, codes = [], {f["code"] for f in fake.state.fields[entity].values() if f["code"]}
    for number, item in enumerate(items):
        problems = []
        if not isinstance(item, dict):
            problems.append(error("InvalidType", "", "This value should be of type object."))
        else:
            if not isinstance(item.get("name"), str) or not item["name"].strip():
                problems.append(error("NotBlank", "name", "This value should not be blank."))
            if item.get("type") not in FIELD_TYPES:
                problems.append(error("NotSupportedChoice", "type", "Unknown field type."))
            if item.get("code") and item["code"] in codes:
                problems.append(error("NotUnique", "code", "A field with this code exists."))
            codes.add(item.get("code"))
        if problems:
            errors.append({"request_id": _request_id(item, number), "errors": problems})
    if errors:
        return invalid(errors)
    base = _base(fake, request)
    created = []
    for number, item in enumerate(items):
        field = fake.state.add_field(
            entity,
            name=item["name"],
            type=item["type"],
            code=item.get("code") or None,
            enums=[e for e in item.get("enums") or [] if isinstance(e, dict)],
            sort=item.get("sort"),
            is_api_only=bool(item.get("is_api_only")),
        )
        href = f"{base}/api/v4/{entity}/custom_fields/{field['id']}"
        created.append(
            {**field, "request_id": _request_id(item, number), "_links": {"self": {"href": href}}}
        )
    return json_response({"_total_items": len(created), "_embedded": {"custom_fields": created}})


def _request_id(item: Any, number: int) -> str:
    if isinstance(item, dict) and item.get("request_id") not in (None, ""):
        return str(item["request_id"])
    return str(number)


# --- Contacts and deals ----------------------------------------------------------------------


def _select(fake: "FakeAmo", request: FakeRequest, kind: str) -> list[dict[str, Any]]:
    state = fake.state
    items = list((state.contacts if kind == "contacts" else state.leads).values())
    ids = _ints(_filter_values(request, "id"))
    if ids:
        items = [e for e in items if e["id"] in ids]
    responsible = _ints(_filter_values(request, "responsible_user_id"))
    if responsible:
        items = [e for e in items if e["responsible_user_id"] in responsible]
    name = _arg(request, "filter[name]")
    if name:
        items = [e for e in items if e["name"] == name]
    text = (_arg(request, "query") or "").strip().casefold()
    if text:
        items = [e for e in items if text in state.searchable(e)]
    for stamp in ("updated_at", "created_at", "closed_at"):
        low, high = _range(request, stamp)
        if low is not None:
            items = [e for e in items if (e.get(stamp) or 0) >= low]
        if high is not None:
            items = [e for e in items if e.get(stamp) is not None and e[stamp] <= high]
    if kind == "leads":
        pipeline_ids = _ints(_filter_values(request, "pipeline_id"))
        if pipeline_ids:
            items = [e for e in items if e["pipeline_id"] in pipeline_ids]
        pairs = _statuses(request)
        if pairs:
            items = [
                e
                for e in items
                if any(
                    (p is None or e["pipeline_id"] == p) and (s is None or e["status_id"] == s)
                    for p, s in pairs
                )
            ]
    for key in ("updated_at", "created_at", "id"):
        direction = _arg(request, f"order[{key}]")
        if direction in ("asc", "desc"):
            items.sort(key=lambda e, k=key: (e[k], e["id"]), reverse=direction == "desc")  # type: ignore[misc]
            break
    else:
        items.sort(key=lambda e: e["id"])
    return items


@_route("GET", r"/api/v4/(contacts|leads)")
def entity_list(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int):
    kind, extras, base = match[1], _with(request), _base(fake, request)
    if kind == "contacts":

        def render(e: dict) -> dict:
            return fake.state.render_contact(e, base, with_leads="leads" in extras)

    else:

        def render(e: dict) -> dict:
            return fake.state.render_lead(
                e,
                base,
                with_contacts="contacts" in extras,
                with_loss_reason="loss_reason" in extras,
            )

    return _listing(fake, request, kind, _select(fake, request, kind), render)


@_route("GET", r"/api/v4/(contacts|leads)/(\d+)")
def entity_one(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int):
    kind, extras, base = match[1], _with(request), _base(fake, request)
    state = fake.state
    if kind == "contacts":
        contact = state.contacts.get(int(match[2]))
        if contact is None:
            return no_content()
        return json_response(state.render_contact(contact, base, with_leads="leads" in extras))
    lead = state.leads.get(int(match[2]))
    if lead is None:
        return no_content()
    shown = state.render_lead(
        lead, base, with_contacts="contacts" in extras, with_loss_reason="loss_reason" in extras
    )
    return json_response(shown)


def _write(fake: "FakeAmo", kind: str, items: list, user_id: int, creating: bool) -> list[dict]:
    """Validate a whole batch, then apply it; raises ``ValidationFailed`` (nothing applied)."""
    state = fake.state
    store = state.contacts if kind == "contact" else state.leads
    build = state.build_contact if kind == "contact" else state.build_lead
    staged: dict[int, dict] = {}
    built, errors = [], []
    for number, item in enumerate(items):
        request_id = _request_id(item, number)
        old = None
        if not creating:
            entity_id = as_int(item.get("id")) if isinstance(item, dict) else None
            old = (staged.get(entity_id) or store.get(entity_id)) if entity_id else None
            if old is None:
                errors.append(
                    {
                        "request_id": request_id,
                        "errors": [error("NotFound", "id", "No such entity.")],
                    }
                )
                continue
        entity, problems = build(item, old, user_id)
        if problems:
            errors.append({"request_id": request_id, "errors": problems})
            continue
        if not creating:
            staged[entity["id"]] = entity
        built.append((request_id, entity))
    if errors:
        raise ValidationFailed(errors)
    results = []
    for request_id, entity in built:
        old = None if creating else store.get(entity["id"])
        state.commit(kind, entity, old, modified_by=0)  # amoCRM reports API changes as user 0
        results.append({**store[entity["id"]], "request_id": request_id})
    return results


def _write_answer(base: str, group: str, results: list[dict], creating: bool) -> list[dict]:
    shown = []
    for entity in results:
        item: dict[str, Any] = {"id": entity["id"]}
        if group == "contacts" and not creating:
            item["name"] = entity["name"]
        if not creating:
            item["updated_at"] = entity["updated_at"]
        if group == "contacts" and creating:
            item["is_deleted"] = False
            item["is_unsorted"] = False
        item["request_id"] = entity["request_id"]
        item["_links"] = {"self": {"href": f"{base}/api/v4/{group}/{entity['id']}"}}
        shown.append(item)
    return shown


@_route("POST", r"/api/v4/(contacts|leads)")
def entity_add(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int):
    return _batch(fake, request, match[1], user_id, creating=True)


@_route("PATCH", r"/api/v4/(contacts|leads)")
def entity_update(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int):
    return _batch(fake, request, match[1], user_id, creating=False)


def _batch(fake: "FakeAmo", request: FakeRequest, group: str, user_id: int, creating: bool):
    items = _body(request)
    if isinstance(items, FakeResponse):
        return items
    if not isinstance(items, list):
        return invalid([{"request_id": "0", "errors": [error("InvalidType", "", "An array.")]}])
    if not items:
        return problem(400, "Request data can not be empty")
    if len(items) > PAGE_MAX:
        return problem(422, f"Limit {PAGE_MAX} per page")
    try:
        results = _write(fake, group[:-1], items, user_id, creating)
    except ValidationFailed as failed:
        return invalid(failed.errors)
    base = _base(fake, request)
    return json_response(
        {
            "_links": {"self": {"href": f"{base}/api/v4/{group}"}},
            "_embedded": {group: _write_answer(base, group, results, creating)},
        }
    )


@_route("PATCH", r"/api/v4/(contacts|leads)/(\d+)")
def entity_update_one(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int):
    item = _body(request)
    if isinstance(item, FakeResponse):
        return item
    if not isinstance(item, dict):
        return invalid([{"request_id": "0", "errors": [error("InvalidType", "", "An object.")]}])
    try:
        (result,) = _write(fake, match[1][:-1], [{**item, "id": int(match[2])}], user_id, False)
    except ValidationFailed as failed:
        return invalid(failed.errors)
    (shown,) = _write_answer(_base(fake, request), match[1], [result], False)
    shown.pop("request_id")
    return json_response(shown)


@_route("POST", r"/api/v4/leads/complex")
def leads_complex(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int):
    items = _body(request)
    if isinstance(items, FakeResponse):
        return items
    if not isinstance(items, list) or not items:
        return invalid([{"request_id": "0", "errors": [error("InvalidType", "", "An array.")]}])
    if len(items) > COMPLEX_MAX:
        return problem(422, f"Limit {COMPLEX_MAX} per request")
    state, planned, errors = fake.state, [], []
    for number, item in enumerate(items):
        request_id = _request_id(item, number)
        if not isinstance(item, dict):
            errors.append(
                {"request_id": request_id, "errors": [error("InvalidType", "", "An object.")]}
            )
            continue
        embedded = dict(item.get("_embedded") or {})
        contacts = embedded.pop("contacts", None) or []
        embedded.pop("companies", None)
        contact, contact_id, problems = None, None, []
        if contacts:
            raw = contacts[0] if isinstance(contacts[0], dict) else {}
            if raw.get("id"):
                contact_id = as_int(raw["id"])
                if contact_id not in state.contacts:
                    problems.append(
                        error("NotFound", "_embedded.contacts.0.id", "No such contact.")
                    )
            else:
                contact, contact_problems = state.build_contact(raw, None, user_id)
                problems += [
                    {**p, "path": f"_embedded.contacts.0.{p['path']}"} for p in contact_problems
                ]
        lead, lead_problems = state.build_lead({**item, "_embedded": embedded}, None, user_id)
        problems += lead_problems
        if problems:
            errors.append({"request_id": request_id, "errors": problems})
        planned.append((request_id, contact, contact_id, lead))
    if errors:
        return invalid(errors)
    answer = []
    for request_id, contact, contact_id, lead in planned:
        if contact is not None:
            state.commit("contact", contact, None, modified_by=0)
            contact_id = contact["id"]
        if contact_id is not None:
            lead["_embedded"]["contacts"] = [{"id": contact_id, "is_main": True}]
        state.commit("lead", lead, None, modified_by=0)
        answer.append(
            {
                "id": lead["id"],
                "contact_id": contact_id,
                "company_id": None,
                "request_id": [request_id],
                "merged": False,
            }
        )
    return json_response(answer)


# --- Events and webhooks ---------------------------------------------------------------------


@_route("GET", r"/api/v4/events")
def events(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int) -> FakeResponse:
    found = list(reversed(fake.state.events))  # newest first
    types = set(_filter_values(request, "type"))
    if types:
        found = [e for e in found if e["type"] in types]
    entities = {value.rstrip("s") for value in _filter_values(request, "entity")}
    if entities:
        found = [e for e in found if e["entity_type"] in entities]
    entity_ids = _ints(_filter_values(request, "entity_id"))
    if entity_ids:
        found = [e for e in found if e["entity_id"] in entity_ids]
    low, high = _range(request, "created_at")
    found = [
        e
        for e in found
        if (low is None or e["created_at"] >= low) and (high is None or e["created_at"] <= high)
    ]
    base = _base(fake, request)

    def render(event: dict) -> dict:
        shown = {k: v for k, v in event.items() if k != "_number"}
        shown["_links"] = {"self": {"href": f"{base}/api/v4/events/{event['id']}"}}
        return shown

    return _listing(fake, request, "events", found, render, most=EVENTS_MAX)


def _render_webhook(webhook: dict) -> dict:
    return dict(webhook)


@_route("GET", r"/api/v4/webhooks")
def webhooks(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int) -> FakeResponse:
    found = list(fake.hooks.webhooks.values())
    destination = _arg(request, "filter[destination]")
    if destination:
        found = [w for w in found if w["destination"] == destination]
    if not found:
        return no_content()
    return json_response(
        {
            "_total_items": len(found),
            "_links": {"self": {"href": _href(fake, request)}},
            "_embedded": {"webhooks": [_render_webhook(w) for w in found]},
        }
    )


@_route("POST", r"/api/v4/webhooks")
def webhook_add(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int):
    data = _body(request)
    if isinstance(data, FakeResponse):
        return data
    if not isinstance(data, dict):
        return invalid([{"request_id": "0", "errors": [error("InvalidType", "", "An object.")]}])
    problems = []
    destination = data.get("destination")
    if not isinstance(destination, str) or not re.match(r"https?://\S+$", destination):
        problems.append(error("InvalidUrl", "destination", "This value is not a valid URL."))
    settings = data.get("settings")
    if not isinstance(settings, list) or not settings:
        problems.append(error("NotBlank", "settings", "This value should not be blank."))
    elif any(code not in KNOWN_SETTINGS for code in settings):
        problems.append(error("NotSupportedChoice", "settings", "Unknown event code."))
    if problems:
        return invalid([{"request_id": "0", "errors": problems}])
    now = fake.state.now()
    hooks = fake.hooks
    webhook = next((w for w in hooks.webhooks.values() if w["destination"] == destination), None)
    if webhook is None:
        if len(hooks.webhooks) >= 100:
            return problem(400, "Limit 100 webhooks per account")
        webhook_id = fake.state.next_id("webhook")
        webhook = {
            "id": webhook_id,
            "destination": destination,
            "created_at": now,
            "updated_at": now,
            "account_id": fake.state.account_id,
            "created_by": user_id,
            "sort": 1,
            "disabled": False,
            "settings": [],
        }
        hooks.webhooks[webhook_id] = webhook
    webhook.update(settings=list(dict.fromkeys(settings or [])), disabled=False, updated_at=now)
    if isinstance(data.get("sort"), int):
        webhook["sort"] = data["sort"]
    hooks.reset_invalid(webhook["id"])
    return json_response(_render_webhook(webhook))


@_route("DELETE", r"/api/v4/webhooks")
def webhook_delete(fake: "FakeAmo", request: FakeRequest, match: re.Match, user_id: int):
    data = _body(request)
    if isinstance(data, FakeResponse):
        return data
    destination = data.get("destination") if isinstance(data, dict) else None
    if not isinstance(destination, str) or not destination:
        problems = [error("NotBlank", "destination", "This value should not be blank.")]
        return invalid([{"request_id": "0", "errors": problems}])
    hooks = fake.hooks.webhooks
    for webhook_id in [w["id"] for w in hooks.values() if w["destination"] == destination]:
        del hooks[webhook_id]
    return no_content()


# --- The OAuth page --------------------------------------------------------------------------


def oauth_page(fake: "FakeAmo", request: FakeRequest, *, allow: bool) -> FakeResponse:
    """``/oauth``: the consent page; its "Allow" link (``/oauth/allow``) redirects back
    with a fresh code, "Deny" with ``error=access_denied``."""
    client_id = _arg(request, "client_id") or ""
    state = _arg(request, "state") or ""
    redirect_uri = _arg(request, "redirect_uri") or fake.redirect_uri or ""
    if client_id != fake.client_id:
        return _html(400, "<p>Интеграция не найдена (unknown client_id).</p>")
    if not re.match(r"https?://", redirect_uri):
        return _html(400, "<p>Не указан redirect_uri.</p>")
    host = request.headers.get("host") or fake.base.split("://", 1)[-1]
    joiner = "&" if "?" in redirect_uri else "?"
    if allow:
        code = fake.issue_code(redirect_uri=redirect_uri)
        query = urlencode({"code": code, "state": state, "referer": host, "client_id": client_id})
        return FakeResponse(302, b"", {"Location": f"{redirect_uri}{joiner}{query}"})
    allow_href = "/oauth/allow?" + urlencode(
        {"client_id": client_id, "state": state, "redirect_uri": redirect_uri}
    )
    deny_href = redirect_uri + joiner + urlencode({"error": "access_denied", "state": state})
    account = f"{escape(fake.subdomain)}.amocrm.ru (#{fake.account_id})"
    return _html(
        200,
        f"<h1>Предоставить доступ</h1><p>Интеграция запрашивает доступ к аккаунту "
        f"<b id='account'>{account}</b>.</p>"
        f"<p><a id='allow' href='{escape(allow_href)}'>Разрешить</a> "
        f"<a id='deny' href='{escape(deny_href)}'>Отказать</a></p>",
    )


def _html(status: int, content: str) -> FakeResponse:
    head = "<!doctype html><html lang='ru'><meta charset='utf-8'><title>amoCRM</title>"
    page = f"{head}{content}</html>"
    return FakeResponse(status, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
