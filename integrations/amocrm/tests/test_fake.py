"""FakeAmo against plain httpx: the behaviour of amoCRM the sync relies on."""

import datetime
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest
import time_machine

from integrations.amocrm.config import LOST, WON
from integrations.amocrm.fake import FakeAmo

HOOK = "http://127.0.0.1:9/amocrm/hook/secret/"


@pytest.fixture
def amo():
    """A fake without the rate limit, for tests that make many requests."""
    with FakeAmo(rps=None) as fake:
        yield fake


def api(fake: FakeAmo, token: str | None = None) -> httpx.Client:
    token = token or fake.long_lived_token
    return httpx.Client(base_url=fake.url, headers={"Authorization": f"Bearer {token}"})


def add_contacts(client: httpx.Client, *names: str) -> list[int]:
    response = client.post("/api/v4/contacts", json=[{"name": name} for name in names])
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["_embedded"]["contacts"]]


class Captured:
    """A ``post`` for ``deliver_webhooks`` that keeps what it was given."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, destination: str, body: bytes, headers: dict[str, str]) -> int:
        self.requests.append((destination, body, headers))
        return self.status

    def pairs(self, number: int = 0) -> dict[str, str]:
        return dict(parse_qsl(self.requests[number][1].decode(), keep_blank_values=True))


def subscribe(fake: FakeAmo, *events: str) -> None:
    events = events or ("add_contact", "update_contact", "add_lead", "update_lead", "status_lead")
    response = api(fake).post("/api/v4/webhooks", json={"destination": HOOK, "settings": events})
    assert response.status_code == 200, response.text


# --- OAuth -----------------------------------------------------------------------------------


def token_request(fake: FakeAmo, **data: str) -> httpx.Response:
    body = {"client_id": fake.client_id, "client_secret": fake.client_secret, **data}
    return httpx.post(f"{fake.url}/oauth2/access_token", json=body)


def test_a_code_is_exchanged_once_for_tokens_that_open_the_api(amo):
    code = amo.issue_code(redirect_uri="https://odonta.example/amo/callback")
    grant = {"grant_type": "authorization_code", "code": code}
    response = token_request(amo, **grant, redirect_uri="https://odonta.example/amo/callback")

    assert response.status_code == 200
    tokens = response.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 86400
    assert {"access_token", "refresh_token", "server_time"} <= set(tokens)
    assert api(amo, tokens["access_token"]).get("/api/v4/account").status_code == 200
    again = token_request(amo, **grant, redirect_uri="https://odonta.example/amo/callback")
    assert again.status_code == 400
    assert again.json()["hint"] == "Authorization code has been revoked"
    assert again.headers["content-type"] == "application/problem+json"


def test_a_code_needs_its_redirect_uri_and_the_client_secret(amo):
    code = amo.issue_code(redirect_uri="https://odonta.example/cb")
    grant = {"grant_type": "authorization_code", "code": code}

    assert token_request(amo, **grant, redirect_uri="https://evil.example/").status_code == 400
    wrong = token_request(
        amo, **grant, client_secret="nope", redirect_uri="https://odonta.example/cb"
    )
    assert wrong.status_code == 401
    assert token_request(amo, **grant, redirect_uri="https://odonta.example/cb").status_code == 200


def test_a_code_expires_after_20_minutes(amo):
    code = amo.issue_code()
    with time_machine.travel(time.time() + 21 * 60):
        response = token_request(amo, grant_type="authorization_code", code=code)
    assert response.status_code == 400
    assert response.json()["hint"] == "Authorization code has expired"


def test_a_form_encoded_token_request_works_too(amo):
    code = amo.issue_code()
    body = {
        "client_id": amo.client_id,
        "client_secret": amo.client_secret,
        "grant_type": "authorization_code",
        "code": code,
    }
    response = httpx.post(f"{amo.url}/oauth2/access_token", data=body)
    assert response.status_code == 200


def test_refresh_rotates_and_the_old_token_dies_when_the_new_one_is_used(amo):
    first = token_request(amo, grant_type="authorization_code", code=amo.issue_code()).json()
    second = token_request(amo, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]

    # Lost answer: the old refresh token still works until the new one is used.
    retry = token_request(amo, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert retry.status_code == 200
    third = token_request(amo, grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert third.status_code == 200
    dead = token_request(amo, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert dead.status_code == 400
    assert dead.json()["hint"] == "Token has been revoked"


def test_expired_and_revoked_tokens_get_401(amo):
    amo.token_lifetime = 0
    tokens = token_request(amo, grant_type="authorization_code", code=amo.issue_code()).json()
    assert tokens["expires_in"] == 0
    assert api(amo, tokens["access_token"]).get("/api/v4/account").status_code == 401

    assert api(amo).get("/api/v4/account").status_code == 200
    amo.revoke_all()
    response = api(amo).get("/api/v4/account")
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthorized"
    assert api(amo, amo.new_long_lived_token()).get("/api/v4/account").status_code == 200


def test_the_api_without_a_token_is_401(amo):
    assert httpx.get(f"{amo.url}/api/v4/contacts").status_code == 401
    assert api(amo, "made-up").get("/api/v4/contacts").status_code == 401


def test_the_consent_page_redirects_back_with_a_code_or_a_refusal(amo):
    redirect = "https://odonta.example/amo/callback"
    args = {"client_id": amo.client_id, "state": "s1", "redirect_uri": redirect}
    page = httpx.get(f"{amo.url}/oauth", params=args)
    assert page.status_code == 200
    assert "id='allow'" in page.text and "id='deny'" in page.text

    allow = httpx.get(f"{amo.url}/oauth/allow", params=args)
    assert allow.status_code == 302
    location = urlsplit(allow.headers["location"])
    back = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert location.path == "/amo/callback"
    assert back["state"] == "s1" and back["client_id"] == amo.client_id
    assert back["referer"] == amo.url.removeprefix("http://")
    grant = {"grant_type": "authorization_code", "code": back["code"], "redirect_uri": redirect}
    assert token_request(amo, **grant).status_code == 200
    assert "error=access_denied&amp;state=s1" in page.text
    assert httpx.get(f"{amo.url}/oauth", params={**args, "client_id": "x"}).status_code == 400


# --- Reading ---------------------------------------------------------------------------------


def test_an_empty_list_and_a_missing_entity_are_204_without_a_body(amo):
    client = api(amo)
    for path in ("/api/v4/contacts", "/api/v4/leads", "/api/v4/contacts/1", "/api/v4/leads/1"):
        response = client.get(path)
        assert (response.status_code, response.content) == (204, b"")


def test_lists_page_with_next_links_and_refuse_more_than_250(amo):
    client = api(amo)
    ids = add_contacts(client, *[f"Пациент {n}" for n in range(7)])

    seen, url, pages = [], "/api/v4/contacts?limit=3", 0
    while url:
        data = client.get(url).json()
        pages += 1
        seen += [c["id"] for c in data["_embedded"]["contacts"]]
        url = data["_links"].get("next", {}).get("href")
    assert (seen, pages) == (ids, 3)
    assert client.get("/api/v4/contacts", params={"page": 4, "limit": 3}).status_code == 204
    too_many = client.get("/api/v4/contacts", params={"limit": 251})
    assert too_many.status_code == 422
    assert too_many.json()["detail"] == "Limit 250 per page"


def test_account_users_pipelines_loss_reasons_and_fields(amo):
    client = api(amo)
    assert client.get("/api/v4/account").json()["current_user_id"] == amo.user_ids[0]
    assert client.get("/api/v4/users").json()["_total_items"] == 3
    pipelines = client.get("/api/v4/leads/pipelines").json()["_embedded"]["pipelines"]
    assert len(pipelines) == 2 and pipelines[0]["is_main"]
    statuses = pipelines[0]["_embedded"]["statuses"]
    assert statuses[0]["type"] == 1
    assert [s["name"] for s in statuses[1:7]] == [
        "Первичный контакт",
        "Записан",
        "Подтверждён",
        "Пришёл",
        "Не пришёл",
        "Отменён",
    ]
    assert [(s["id"], s["sort"]) for s in statuses[-2:]] == [(WON, 10000), (LOST, 11000)]
    assert {s["id"] for s in pipelines[1]["_embedded"]["statuses"]} >= {WON, LOST}
    assert client.get("/api/v4/leads/loss_reasons").json()["_embedded"]["loss_reasons"]
    fields = client.get("/api/v4/contacts/custom_fields").json()["_embedded"]["custom_fields"]
    by_name = {f["name"]: f for f in fields}
    phone = next(f for f in fields if f["code"] == "PHONE")
    assert phone["type"] == "multitext"
    assert {e["value"] for e in phone["enums"]} >= {"WORK", "MOB", "HOME"}
    assert by_name["Дата рождения"]["type"] == "birthday"
    assert [e["value"] for e in by_name["Пол"]["enums"]] == ["Мужской", "Женский"]


def test_custom_fields_are_created_with_request_ids_and_unique_codes(amo):
    client = api(amo)
    body = [{"name": "MIS ID", "type": "text", "code": "MIS_ID", "is_api_only": True}]
    created = client.post("/api/v4/contacts/custom_fields", json=body)
    assert created.status_code == 200
    (field,) = created.json()["_embedded"]["custom_fields"]
    assert (field["request_id"], field["is_api_only"], field["code"]) == ("0", True, "MIS_ID")
    assert client.post("/api/v4/contacts/custom_fields", json=body).status_code == 400
    assert amo.field_id("contacts", "MIS_ID") == field["id"]


def test_query_finds_a_substring_of_the_name_or_of_any_field(amo):
    client = api(amo)
    phone = {"field_code": "PHONE", "values": [{"value": "+79991234567"}]}
    body = [{"name": "Иван Петров", "custom_fields_values": [phone]}, {"name": "Мария"}]
    client.post("/api/v4/contacts", json=body)

    def found(text: str) -> list[str]:
        response = client.get("/api/v4/contacts", params={"query": text})
        if response.status_code == 204:
            return []
        return [c["name"] for c in response.json()["_embedded"]["contacts"]]

    assert found("9991234567") == ["Иван Петров"]
    assert found("петров") == ["Иван Петров"]
    assert found("Мари") == ["Мария"]
    assert found("nobody") == []


def test_updated_at_filter_and_order(amo):
    client = api(amo)
    first, second = add_contacts(client, "Первый", "Второй")
    client.patch(f"/api/v4/contacts/{first}", json={"name": "Первый, изменён"})
    stamps = {c["id"]: c["updated_at"] for c in amo.contacts.values()}
    assert stamps[first] > stamps[second]

    params = {"filter[updated_at][from]": stamps[first], "order[updated_at]": "asc"}
    listed = client.get("/api/v4/contacts", params=params).json()["_embedded"]["contacts"]
    assert [c["id"] for c in listed] == [first]
    params = {"filter[updated_at][from]": 0, "order[updated_at]": "asc"}
    listed = client.get("/api/v4/contacts", params=params).json()["_embedded"]["contacts"]
    assert [c["id"] for c in listed] == [second, first]


def test_updated_at_strictly_increases_and_a_no_op_changes_nothing(amo):
    client = api(amo)
    (contact_id,) = add_contacts(client, "Анна")
    stamps = [amo.contacts[contact_id]["updated_at"]]
    for name in ("Анна 1", "Анна 2", "Анна 2"):
        client.patch("/api/v4/contacts", json=[{"id": contact_id, "name": name}])
        stamps.append(amo.contacts[contact_id]["updated_at"])
    assert stamps[0] < stamps[1] < stamps[2] == stamps[3]


# --- Writing ---------------------------------------------------------------------------------


def test_request_ids_are_echoed_and_default_to_the_position(amo):
    body = [{"name": "А", "request_id": "patient-7"}, {"name": "Б"}, {"name": "В"}]
    response = api(amo).post("/api/v4/contacts", json=body)
    created = response.json()["_embedded"]["contacts"]
    assert [c["request_id"] for c in created] == ["patient-7", "1", "2"]
    assert created[1]["id"] == created[0]["id"] + 1
    assert response.headers["content-type"] == "application/hal+json"


def test_a_batch_over_250_is_422_and_an_empty_body_is_400(amo):
    client = api(amo)
    assert client.post("/api/v4/contacts", json=[{"name": "x"}] * 251).status_code == 422
    assert client.post("/api/v4/contacts", content=b"").status_code == 400
    assert amo.contacts == {}


def test_custom_fields_by_code_and_enum_code(amo):
    gender = amo.field_id("contacts", "Пол")
    fields = [
        {"field_code": "PHONE", "values": [{"value": "+79990001122", "enum_code": "MOB"}]},
        {"field_id": gender, "values": [{"enum_id": amo.enum_id("contacts", "Пол", "Женский")}]},
        {"field_id": amo.field_id("contacts", "Дата рождения"), "values": [{"value": 479595600}]},
    ]
    (contact_id,) = [
        c["id"]
        for c in api(amo)
        .post("/api/v4/contacts", json=[{"name": "Ольга", "custom_fields_values": fields}])
        .json()["_embedded"]["contacts"]
    ]
    contact = api(amo).get(f"/api/v4/contacts/{contact_id}").json()
    phone = next(f for f in contact["custom_fields_values"] if f["field_code"] == "PHONE")
    assert phone["values"] == [
        {
            "value": "+79990001122",
            "enum_id": amo.enum_id("contacts", "PHONE", "MOB"),
            "enum_code": "MOB",
        }
    ]
    assert amo.contact_field_value(contact_id, "Пол") == "Женский"
    assert amo.contact_field_value(contact_id, "Дата рождения") == 479595600


def test_an_unknown_field_is_400_with_validation_errors_and_nothing_is_written(amo):
    body = [
        {"name": "Хороший"},
        {"name": "Плохой", "custom_fields_values": [{"field_id": 1, "values": [{"value": "x"}]}]},
    ]
    response = api(amo).post("/api/v4/contacts", json=body)
    assert response.status_code == 400
    (problem,) = response.json()["validation-errors"]
    assert problem["request_id"] == "1"
    assert problem["errors"][0]["path"] == "custom_fields_values.0.field_id"
    assert amo.contacts == {}


def test_multitext_is_replaced_whole_and_null_clears_it(amo):
    client = api(amo)
    phones = [{"value": "+79990000001"}, {"value": "+79990000002", "enum_code": "MOB"}]
    body = [{"name": "Пётр", "custom_fields_values": [{"field_code": "PHONE", "values": phones}]}]
    (contact_id,) = [
        c["id"] for c in client.post("/api/v4/contacts", json=body).json()["_embedded"]["contacts"]
    ]
    assert amo.contact_field_values(contact_id, "PHONE") == ["+79990000001", "+79990000002"]

    one = [{"field_code": "PHONE", "values": [{"value": "+79990000003"}]}]
    client.patch(f"/api/v4/contacts/{contact_id}", json={"custom_fields_values": one})
    assert amo.contact_field_values(contact_id, "PHONE") == ["+79990000003"]
    cleared = [{"field_code": "PHONE", "values": None}]
    client.patch(f"/api/v4/contacts/{contact_id}", json={"custom_fields_values": cleared})
    assert amo.contacts[contact_id]["custom_fields_values"] is None


def test_a_lead_entering_won_or_lost_gets_closed_at_and_an_event(amo):
    client = api(amo)
    (contact_id,) = add_contacts(client, "Анна")
    body = [{"name": "Чистка", "price": 4500, "_embedded": {"contacts": [{"id": contact_id}]}}]
    (lead,) = client.post("/api/v4/leads", json=body).json()["_embedded"]["leads"]
    created = amo.leads[lead["id"]]
    assert created["status_id"] == amo.status_id("Первичный контакт")
    assert created["closed_at"] is None
    assert created["_embedded"]["contacts"][0]["id"] == contact_id

    since = int(time.time()) - 1
    reason = client.get("/api/v4/leads/loss_reasons").json()["_embedded"]["loss_reasons"][0]
    move = {"status_id": LOST, "loss_reason_id": reason["id"]}
    assert client.patch(f"/api/v4/leads/{lead['id']}", json=move).status_code == 200
    closed = client.get(f"/api/v4/leads/{lead['id']}", params={"with": "contacts"}).json()
    assert closed["closed_at"] and closed["loss_reason_id"] == reason["id"]
    assert closed["_embedded"]["contacts"][0]["id"] == contact_id
    params = {"filter[type]": "lead_status_changed", "filter[created_at][from]": since}
    (event,) = client.get("/api/v4/events", params=params).json()["_embedded"]["events"]
    assert event["entity_id"] == lead["id"] and event["created_by"] == 0
    assert event["value_after"] == [
        {"lead_status": {"id": LOST, "pipeline_id": amo.main_pipeline_id}}
    ]
    assert client.patch(f"/api/v4/leads/{lead['id']}", json={"status_id": 1}).status_code == 400


def test_leads_filter_by_pipeline_and_status(amo):
    client = api(amo)
    booked = amo.status_id("Записан")
    body = [{"name": "А", "status_id": booked}, {"name": "Б"}]
    client.post("/api/v4/leads", json=body)
    params = {
        "filter[statuses][0][pipeline_id]": amo.main_pipeline_id,
        "filter[statuses][0][status_id]": booked,
    }
    listed = client.get("/api/v4/leads", params=params).json()["_embedded"]["leads"]
    assert [lead["name"] for lead in listed] == ["А"]
    other = next(p for p in amo.state.pipelines if p != amo.main_pipeline_id)
    assert client.get("/api/v4/leads", params={"filter[pipeline_id][]": other}).status_code == 204


def test_complex_add_answers_a_bare_array(amo):
    contact = {
        "name": "Новый пациент",
        "custom_fields_values": [{"field_code": "PHONE", "values": [{"value": "+79995550000"}]}],
    }
    body = [{"name": "Заявка с сайта", "request_id": "r1", "_embedded": {"contacts": [contact]}}]
    response = api(amo).post("/api/v4/leads/complex", json=body)
    assert response.status_code == 200
    (answer,) = response.json()
    assert answer["request_id"] == ["r1"] and answer["merged"] is False
    assert answer["company_id"] is None
    assert amo.leads[answer["id"]]["_embedded"]["contacts"][0]["id"] == answer["contact_id"]
    assert amo.contact_field_value(answer["contact_id"], "PHONE") == "+79995550000"
    assert api(amo).post("/api/v4/leads/complex", json=[{}] * 51).status_code == 422


# --- Limits and switches ---------------------------------------------------------------------


def test_more_than_rps_requests_within_a_second_get_429():
    with FakeAmo(rps=3) as fake:
        client = api(fake)
        statuses = [client.get("/api/v4/account").status_code for _ in range(4)]
        response = client.get("/api/v4/account")
    assert statuses == [200, 200, 200, 429]
    assert response.status_code == 429
    assert response.json()["retry_after"] == 1
    assert response.json()["type"] == "https://httpstatus.es/429"
    assert "retry-after" not in response.headers


def test_block_gives_403_and_payment_402_until_lifted(amo):
    client = api(amo)
    amo.block()
    assert client.get("/api/v4/account").status_code == 403
    amo.unblock()
    amo.payment_required()
    assert client.get("/api/v4/account").status_code == 402
    amo.payment_required(False)
    assert client.get("/api/v4/account").status_code == 200


def test_injected_failures_do_not_apply_the_write(amo):
    client = api(amo)
    amo.fail_ratio(1.0, kinds=("500",))
    assert client.post("/api/v4/contacts", json=[{"name": "Призрак"}]).status_code == 500
    amo.fail_ratio(1.0, kinds=("timeout",), timeout_seconds=0.05)
    assert client.post("/api/v4/contacts", json=[{"name": "Призрак"}]).status_code == 504
    amo.fail_next(503)  # the base switch too
    assert client.post("/api/v4/contacts", json=[{"name": "Призрак"}]).status_code == 503
    amo.fail_ratio(0)
    assert amo.contacts == {}
    assert client.post("/api/v4/contacts", json=[{"name": "Живой"}]).status_code == 200
    assert amo.api_request_count == 4


def test_fail_ratio_is_repeatable_with_a_seed():
    def outcomes() -> list[int]:
        with FakeAmo(rps=None, seed=5) as fake:
            fake.fail_ratio(0.5, kinds=("429", "500"))
            client = api(fake)
            return [client.get("/api/v4/account").status_code for _ in range(12)]

    first = outcomes()
    assert first == outcomes()
    assert len(set(first)) > 1


def test_fail_after_apply_answers_500_but_the_write_happened(amo):
    amo.fail_after_apply_next("500")
    response = api(amo).post("/api/v4/contacts", json=[{"name": "Дубль?"}])
    assert response.status_code == 500
    assert [c["name"] for c in amo.contacts.values()] == ["Дубль?"]


def test_fail_after_apply_with_a_timeout_leaves_the_write_done(amo):
    amo.fail_after_apply_next("timeout", timeout_seconds=0.5)
    with pytest.raises(httpx.ReadTimeout):
        api(amo).post("/api/v4/leads", json=[{"name": "Ушло"}], timeout=0.1)
    assert [lead["name"] for lead in amo.leads.values()] == ["Ушло"]


# --- Webhooks --------------------------------------------------------------------------------


def test_webhooks_are_listed_added_and_deleted(amo):
    client = api(amo)
    assert client.get("/api/v4/webhooks").status_code == 204
    subscribe(amo, "status_lead")
    (hook,) = client.get("/api/v4/webhooks").json()["_embedded"]["webhooks"]
    assert (hook["destination"], hook["settings"], hook["disabled"]) == (
        HOOK,
        ["status_lead"],
        False,
    )
    bad = client.post("/api/v4/webhooks", json={"destination": "nope", "settings": ["x"]})
    assert bad.status_code == 400
    deleted = client.request("DELETE", "/api/v4/webhooks", json={"destination": HOOK})
    assert deleted.status_code == 204
    assert client.get("/api/v4/webhooks").status_code == 204


def test_a_ui_change_sends_a_v2_form_body_with_bracket_keys(amo):
    subscribe(amo)
    manager = amo.user_ids[1]
    contact = amo.ui_add_contact(
        "Иван Петров",
        phone=["+79991112233", "+79994445566"],
        birthday=datetime.date(1990, 5, 17),
        gender="Мужской",
        user_id=manager,
    )
    sent = Captured()
    assert amo.deliver_webhooks(post=sent) == 1

    destination, body, headers = sent.requests[0]
    assert destination == HOOK
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert b"%5B" in body  # brackets percent-encoded, as PHP's http_build_query writes them
    form = sent.pairs()
    prefix = "contacts[add][0]"
    assert form[f"{prefix}[id]"] == str(contact["id"])
    assert form[f"{prefix}[name]"] == "Иван Петров"
    assert form[f"{prefix}[type]"] == "contact"
    assert form[f"{prefix}[modified_user_id]"] == str(manager)
    assert form[f"{prefix}[created_user_id]"] == str(manager)
    assert form[f"{prefix}[last_modified]"] == form[f"{prefix}[updated_at]"]
    assert form[f"{prefix}[custom_fields][0][code]"] == "PHONE"
    assert form[f"{prefix}[custom_fields][0][values][1][value]"] == "+79994445566"
    assert form[f"{prefix}[custom_fields][0][values][0][enum]"].isdigit()
    # Midnight in the account's zone (Moscow was on summer time, +04, in 1990).
    birthday = datetime.datetime(1990, 5, 16, 20, 0, tzinfo=datetime.UTC).timestamp()
    assert form[f"{prefix}[custom_fields][1][values][0]"] == str(int(birthday))  # bare
    assert form[f"{prefix}[custom_fields][2][values][0][value]"] == "Мужской"
    assert form["account[id]"] == str(amo.account_id)
    assert form["account[subdomain]"] == "clinic"
    assert form["account[_links][self]"] == "https://clinic.amocrm.ru"
    assert all(isinstance(value, str) for value in form.values())


def test_a_status_change_carries_old_status_and_pipeline(amo):
    contact = amo.ui_add_contact("Анна")
    lead = amo.ui_add_lead("Чистка", contact_id=contact["id"], status_id=amo.status_id("Записан"))
    subscribe(amo, "status_lead")
    amo.ui_move_lead(lead["id"], WON)
    sent = Captured()
    amo.deliver_webhooks(post=sent)

    form = sent.pairs()
    assert form["leads[status][0][id]"] == str(lead["id"])
    assert form["leads[status][0][status_id]"] == str(WON)
    assert form["leads[status][0][old_status_id]"] == str(amo.status_id("Записан"))
    assert form["leads[status][0][pipeline_id]"] == str(amo.main_pipeline_id)
    assert amo.leads[lead["id"]]["closed_at"]


def test_changes_queued_together_share_one_body(amo):
    subscribe(amo)
    first = amo.ui_add_contact("Первый")
    amo.ui_add_contact("Второй")
    amo.ui_add_lead("Сделка", contact_id=first["id"])
    sent = Captured()
    assert amo.deliver_webhooks(post=sent) == 1
    form = sent.pairs()
    assert form["contacts[add][0][name]"] == "Первый"
    assert form["contacts[add][1][name]"] == "Второй"
    assert form["leads[add][0][name]"] == "Сделка"


def test_an_api_write_echoes_a_webhook_with_user_0(amo):
    subscribe(amo, "update_contact")
    (contact_id,) = add_contacts(api(amo), "Анна")
    api(amo).patch(f"/api/v4/contacts/{contact_id}", json={"name": "Анна К."})
    sent = Captured()
    amo.deliver_webhooks(post=sent)
    assert sent.pairs()["contacts[update][0][modified_user_id]"] == "0"


def test_deletes_carry_only_ids(amo):
    lead = amo.ui_add_lead("Удалить")
    subscribe(amo, "delete_lead")
    amo.ui_delete_lead(lead["id"])
    sent = Captured()
    amo.deliver_webhooks(post=sent)
    form = sent.pairs()
    assert {k for k in form if k.startswith("leads")} == {
        "leads[delete][0][id]",
        "leads[delete][0][status_id]",
        "leads[delete][0][pipeline_id]",
    }
    assert api(amo).get(f"/api/v4/leads/{lead['id']}").status_code == 204


def test_dropped_webhooks_are_lost_silently(amo):
    subscribe(amo, "add_contact")
    amo.drop_next_webhooks(1)
    amo.ui_add_contact("Потерян")
    sent = Captured()
    assert amo.deliver_webhooks(post=sent) == 0
    amo.ui_add_contact("Дошёл")
    assert amo.deliver_webhooks(post=sent) == 1
    assert [entry["outcome"] for entry in amo.webhook_log] == ["dropped", "delivered"]

    amo.drop_webhooks(ratio=1.0)
    amo.ui_add_contact("Тоже потерян")
    assert amo.deliver_webhooks(post=sent) == 0
    assert len(sent.requests) == 1


def test_a_hook_answering_badly_more_than_100_times_is_disabled(amo):
    subscribe(amo, "add_contact")
    amo.hooks.batch_size = 1
    for number in range(101):
        amo.ui_add_contact(f"Пациент {number}")
    assert amo.deliver_webhooks(post=Captured(status=500)) == 101
    assert amo.webhooks[0]["disabled"] is True
    amo.ui_add_contact("После отключения")
    assert amo.deliver_webhooks(post=Captured()) == 0
    subscribe(amo, "add_contact")  # saving it again enables it
    assert amo.webhooks[0]["disabled"] is False


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_auto_deliver_posts_to_a_real_http_server():
    _Receiver.bodies = []
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    destination = f"http://127.0.0.1:{receiver.server_address[1]}/hook/"
    try:
        with FakeAmo(auto_deliver=True) as fake:
            api(fake).post(
                "/api/v4/webhooks", json={"destination": destination, "settings": ["add_lead"]}
            )
            fake.ui_add_lead("Автодоставка")
            deadline = time.monotonic() + 5
            # The receiver has the body before the fake records the answer: wait for both.
            while not (_Receiver.bodies and fake.webhook_log) and time.monotonic() < deadline:
                time.sleep(0.02)
            log = fake.webhook_log
    finally:
        receiver.shutdown()
        receiver.server_close()
    (body,) = _Receiver.bodies
    assert dict(parse_qsl(body.decode()))["leads[add][0][name]"] == "Автодоставка"
    assert log[0]["outcome"] == "delivered"


def test_the_ui_helpers_change_the_account_as_a_manager_would(amo):
    contact = amo.ui_add_contact("Мария", phone="+79990000000", gender="Женский")
    updated = amo.ui_update_contact(contact["id"], phone=["+79991111111"], gender=None)
    assert updated["updated_at"] > contact["updated_at"] or updated["updated_by"] == amo.user_ids[1]
    assert amo.contact_field_values(contact["id"], "PHONE") == ["+79991111111"]
    assert amo.contact_field_value(contact["id"], "Пол") is None
    lead = amo.ui_add_lead("Приём", contact_id=contact["id"])
    assert amo.contacts[contact["id"]]["_embedded"]["leads"][0]["id"] == lead["id"]
    with pytest.raises(ValueError):
        amo.ui_move_lead(lead["id"], 1)
    with pytest.raises(KeyError):
        amo.ui_update_contact(1, name="Никто")
