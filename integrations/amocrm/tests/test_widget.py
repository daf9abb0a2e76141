"""The deal-card widget: its package, the session script.js asks for with amoCRM's signed
one-time token, and the panel (show, edit, cancel, book) against the fake amoCRM."""

import datetime
import io
import json
import re
import time
import zipfile
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import time_machine
from django.utils import timezone

from calendar_app.models import Appointment, StatusCode
from calendar_app.tests.factories import WorkShiftFactory
from clinic import testing
from clinic.tests.factories import ChairFactory, EmployeeFactory
from integrations.amocrm import widget as widget_module
from integrations.amocrm.config import LEAD, LOST, SYSTEM
from integrations.amocrm.tests.helpers import book, lead_of, new_patient
from integrations.links import link_find, link_for
from integrations.models import SyncLogEntry
from pricelist.tests.factories import ServiceFactory

SESSION = "/integrations/amocrm/widget/session/"
SITE = "http://testserver"


@pytest.fixture
def world(amo, desk, registrar):
    """The fake account with the widget's key entered, and the fake's manager matched to
    the registrar (who works in the main branch and may change visits)."""
    connection = amo.connection
    connection.set_credentials(
        {**connection.get_credentials(), "widget_secret": amo.fake.client_secret}
    )
    connection.settings["users"] = {str(registrar.employee.pk): amo.fake.user_ids[1]}
    connection.save()
    start = datetime.datetime.combine(
        datetime.date.today() + datetime.timedelta(days=1),
        datetime.time(9),
        tzinfo=desk["branch"].zone,
    )
    WorkShiftFactory(
        doctor=desk["doctor"],
        chair=desk["chair"],
        start=start,
        end=start + datetime.timedelta(hours=9),
    )
    return SimpleNamespace(amo=amo, fake=amo.fake, desk=desk, registrar=registrar)


def _token(world, **claims) -> str:
    claims.setdefault("aud", SITE)
    return world.fake.widget_token(**claims)


def _session(client, world, lead_id, *, token=None, origin=None, **claims):
    headers = {"HTTP_X_AUTH_TOKEN": token if token is not None else _token(world, **claims)}
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    return client.post(SESSION, {"lead_id": lead_id}, **headers)


def _panel(client, world, lead_id) -> str:
    response = _session(client, world, lead_id)
    assert response.status_code == 200, response.content
    url = response.json()["url"]
    assert url.startswith(f"{SITE}/integrations/amocrm/panel/")
    return urlsplit(url).path


def _linked_visit(world, **kwargs):
    patient = new_patient(world.desk["user"], **kwargs)
    visit = book(world.desk, patient, days=1, hour=10)
    world.amo.sync()
    return visit, lead_of(world.amo, visit)["id"]


# --- The package --------------------------------------------------------------------------


def _package(base="https://mis.clinic.example") -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(widget_module.build_zip(base))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _i18n_has(texts: dict, dotted: str) -> bool:
    node = texts
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return isinstance(node, str) and bool(node)


def test_the_package_holds_a_valid_manifest_for_the_deal_card():
    files = _package()
    for name, content in files.items():
        assert not content.startswith(b"\xef\xbb\xbf"), f"{name} starts with a BOM"
        if not name.endswith(".png"):
            content.decode("utf-8")
    manifest = json.loads(files["manifest.json"])
    info = manifest["widget"]
    for key in ("name", "description", "short_description", "version", "support"):
        assert info[key]
    assert info["interface_version"] == 2
    assert info["init_once"] is False and info["installation"] is True
    assert info["locale"] == ["ru", "en"]
    assert manifest["locations"] == ["lcard-1"]
    assert manifest["settings"] == {
        "odonta_url": {"name": "settings.odonta_url", "type": "text", "required": True}
    }
    keys = [info["name"], info["description"], info["short_description"]]
    keys += [setting["name"] for setting in manifest["settings"].values()]
    keys += [manifest["tour"]["tour_description"]]
    script = files["script.js"].decode()
    keys += [f"panel.{key}" for key in re.findall(r"text\.(\w+)", script)]
    assert "panel.loading" in keys and "panel.error" in keys
    for language in info["locale"]:
        texts = json.loads(files[f"i18n/{language}.json"])
        missing = [key for key in keys if not _i18n_has(texts, key)]
        assert missing == [], f"{language}: {missing}"
    for logo in ("logo.png", "logo_main.png", "logo_medium.png", "logo_min.png"):
        assert files[f"images/{logo}"].startswith(b"\x89PNG")


def test_the_script_asks_for_a_session_at_the_address_baked_in_or_set():
    script = _package("https://mis.clinic.example")["script.js"].decode()
    assert script.startswith("define(['jquery'], function ($) {")
    assert 'var DEFAULT_URL = "https://mis.clinic.example";' in script
    assert "settings.odonta_url || DEFAULT_URL" in script
    assert f"base() + '{SESSION}'" in script
    assert "self.$authorizedAjax(" in script and "APP.data.current_card" in script
    for callback in ("render", "init", "bind_actions", "settings", "onSave", "destroy"):
        assert re.search(rf"{callback}: function \(\) {{", script), callback


def test_the_package_is_downloaded_from_the_integration_page_with_the_settings_right(
    client, amo, branch, settings
):
    settings.ODONTA_PUBLIC_URL = "https://mis.clinic.example"
    admin = testing.make_admin(branch)
    client.force_login(admin.user)
    page = client.get("/integrations/amocrm/")
    assert b"/integrations/amocrm/widget/download/" in page.content
    response = client.get("/integrations/amocrm/widget/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert b"https://mis.clinic.example" in archive.read("script.js")
    registrar = testing.make_persona("registrar", branch, username="registrar2")
    client.force_login(registrar.user)
    assert client.get("/integrations/amocrm/widget/download/").status_code == 403


def test_the_widget_key_is_stored_encrypted_and_never_shown(client, amo, branch):
    admin = testing.make_admin(branch)
    client.force_login(admin.user)
    response = client.post("/integrations/amocrm/widget/secret/", {"widget_secret": "s3cr3t-key"})
    assert response.status_code == 302
    amo.connection.refresh_from_db()
    assert amo.connection.get_credentials()["widget_secret"] == "s3cr3t-key"
    assert amo.connection.get_credentials()["access_token"] == amo.fake.long_lived_token
    assert b"s3cr3t-key" not in client.get("/integrations/amocrm/").content


# --- The session --------------------------------------------------------------------------


def test_a_good_token_opens_a_panel_of_the_deal(client, world):
    visit, lead_id = _linked_visit(world)
    page = client.get(_panel(client, world, lead_id))
    assert page.status_code == 200
    assert f'data-panel-visit="{visit.pk}"'.encode() in page.content


def _expired() -> dict:
    now = int(time.time())
    return {"iat": now - 3600, "nbf": now - 3600, "exp": now - 1200}


@pytest.mark.parametrize(
    ("claims", "status", "words"),
    [
        ({"secret": "another-integration"}, 403, "not valid"),
        ({"aud": "https://elsewhere.example"}, 403, "another address"),
        ("expired", 403, "expired"),
        ({"nbf": int(time.time()) + 3600}, 403, "not valid yet"),
        ({"account_id": 12345}, 403, "another amoCRM account"),
        ({"iss": "https://other.amocrm.ru"}, 403, "another amoCRM account"),
        ({"jti": None}, 403, "not valid"),
        ({"exp": int(time.time()) + 30 * 86400}, 403, "not valid"),
    ],
)
def test_a_bad_token_is_refused(client, world, claims, status, words):
    _visit, lead_id = _linked_visit(world)
    claims = _expired() if claims == "expired" else claims
    response = _session(client, world, lead_id, **claims)
    assert response.status_code == status
    assert words in response.json()["error"]
    assert "url" not in response.json()


def test_a_token_is_used_once(client, world):
    _visit, lead_id = _linked_visit(world)
    token = _token(world)
    assert _session(client, world, lead_id, token=token).status_code == 200
    again = _session(client, world, lead_id, token=token)
    assert again.status_code == 403
    assert "already used" in again.json()["error"]


def test_a_missing_or_garbage_token_and_a_bad_deal_id_are_4xx(client, world):
    _visit, lead_id = _linked_visit(world)
    assert client.post(SESSION, {"lead_id": lead_id}).status_code == 401
    assert _session(client, world, lead_id, token="garbage\x00.x.y").status_code == 403
    for bad in ("abc", "9" * 40, "-5", "", "1e5"):
        response = _session(client, world, bad)
        assert response.status_code == 400, bad
        assert "deal" in response.json()["error"]


def test_an_amocrm_user_not_matched_to_an_employee_is_refused(client, world):
    _visit, lead_id = _linked_visit(world)
    response = _session(client, world, lead_id, user_id=world.fake.user_ids[0])
    assert response.status_code == 403
    assert "not matched" in response.json()["error"]


def test_cors_allows_only_the_connected_accounts_origin(client, world):
    _visit, lead_id = _linked_visit(world)
    origin = world.fake.url
    preflight = client.options(
        SESSION,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-auth-token,content-type",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == origin
    assert "X-Auth-Token" in preflight["Access-Control-Allow-Headers"]
    assert "Origin" in preflight["Vary"]
    answer = _session(client, world, lead_id, origin=origin)
    assert answer["Access-Control-Allow-Origin"] == origin
    stranger = client.options(SESSION, HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in stranger
    refused = _session(client, world, lead_id, origin="https://evil.example")
    assert "Access-Control-Allow-Origin" not in refused


# --- The panel ----------------------------------------------------------------------------


def test_a_forged_or_expired_panel_token_is_refused(client, world):
    _visit, lead_id = _linked_visit(world)
    url = _panel(client, world, lead_id)
    forged = url.replace("/panel/", "/panel/x")
    response = client.get(forged)
    assert response.status_code == 403
    assert b"data-panel-refusal" in response.content
    with time_machine.travel(datetime.timedelta(minutes=31)):
        late = client.get(url)
    assert late.status_code == 403
    assert "expired" in late.content.decode()


def test_the_panel_may_be_framed_only_by_the_account(client, world):
    _visit, lead_id = _linked_visit(world)
    response = client.get(_panel(client, world, lead_id))
    assert response["Content-Security-Policy"] == f"frame-ancestors {world.fake.url}"
    assert "X-Frame-Options" not in response


def test_the_panel_shows_the_visit_with_services_and_total(
    client, world, django_assert_max_num_queries
):
    services = [
        ServiceFactory(name="Осмотр", price="1000.00"),
        ServiceFactory(name="Чистка", price="4500.00"),
    ]
    patient = new_patient(world.desk["user"])
    visit = book(world.desk, patient, days=1, hour=10, services=services)
    world.amo.sync()
    url = _panel(client, world, lead_of(world.amo, visit)["id"])
    with django_assert_max_num_queries(20):
        page = client.get(url)
    text = page.content.decode()
    assert "Осмотр" in text and "Чистка" in text
    assert "data-panel-total>5500" in text.replace(",", ".").replace(".00", "")
    assert "10:00–10:45" in text and "Терапевтова" in text
    assert 'data-panel-status="planned"' in text


def test_the_panel_reaches_only_its_own_deals_visit(client, world):
    visit, _lead_id = _linked_visit(world)
    other = world.fake.ui_add_lead("Другая сделка")["id"]
    url = _panel(client, world, other)
    page = client.get(url)
    assert b"data-panel-no-visit" in page.content
    assert client.post(url + "cancel/", {"reason": "x"}).status_code == 404
    visit.refresh_from_db()
    assert visit.status == StatusCode.PLANNED


def test_the_panel_does_not_reach_a_visit_outside_the_employees_branches(
    client, world, branch_elsewhere
):
    doctor = EmployeeFactory(branches=[branch_elsewhere], last_name="Чужой")
    elsewhere = {
        "branch": branch_elsewhere,
        "chair": ChairFactory(branch=branch_elsewhere),
        "doctor": doctor,
        "user": world.desk["user"],
    }
    visit = book(elsewhere, new_patient(world.desk["user"]), days=1)
    world.amo.sync()
    url = _panel(client, world, lead_of(world.amo, visit)["id"])
    page = client.get(url)
    assert page.status_code == 404
    assert b"Other" not in page.content and "Чужой" not in page.content.decode()
    assert client.post(url + "cancel/", {"reason": "x"}).status_code == 404
    assert client.post(url + "edit/", {"date": "2030-01-01"}).status_code == 404
    visit.refresh_from_db()
    assert visit.status == StatusCode.PLANNED


def test_changing_needs_the_calendar_change_right(client, world):
    from django.contrib.auth.models import Permission

    visit, lead_id = _linked_visit(world)
    url = _panel(client, world, lead_id)
    user = world.registrar.user
    user.groups.clear()
    user.user_permissions.add(
        Permission.objects.get(codename="calendar_view", content_type__app_label="clinic")
    )
    assert client.get(url).status_code == 200
    assert b"data-panel-edit" not in client.get(url).content
    assert client.post(url + "cancel/", {"reason": "x"}).status_code == 403
    visit.refresh_from_db()
    assert visit.status == StatusCode.PLANNED


def test_edit_moves_the_visit_and_the_deal_follows(client, world):
    visit, lead_id = _linked_visit(world)
    url = _panel(client, world, lead_id)
    assert client.get(url + "edit/").status_code == 200
    day = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    response = client.post(
        url + "edit/",
        {"date": day, "time": "12:30", "doctor": world.desk["doctor"].pk, "duration": 60},
    )
    assert response.status_code == 302, response.content.decode()
    visit.refresh_from_db()
    local = visit.start.astimezone(visit.branch.zone)
    assert (local.hour, local.minute) == (12, 30)
    assert visit.duration == datetime.timedelta(minutes=60)
    world.amo.sync()
    assert "12:30" in world.fake.leads[lead_id]["name"]


def test_edit_refused_by_the_calendar_shows_the_reason(client, world):
    visit, lead_id = _linked_visit(world)
    other = new_patient(world.desk["user"], phone="+79160000001", last_name="Занятова")
    book(world.desk, other, days=1, hour=14)
    url = _panel(client, world, lead_id)
    day = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    response = client.post(
        url + "edit/",
        {"date": day, "time": "14:00", "doctor": world.desk["doctor"].pk, "duration": 45},
    )
    assert response.status_code == 422
    assert b"data-panel-error" in response.content
    visit.refresh_from_db()
    assert visit.start.astimezone(visit.branch.zone).hour == 10


def test_cancel_cancels_the_visit_and_loses_the_deal(client, world):
    visit, lead_id = _linked_visit(world)
    url = _panel(client, world, lead_id)
    confirm = client.get(url + "cancel/")
    assert b"data-panel-cancel-form" in confirm.content
    response = client.post(url + "cancel/", {"reason": "Пациент передумал"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == StatusCode.CANCELLED
    assert visit.cancel_reason == "Пациент передумал"
    assert world.fake.leads[lead_id]["status_id"] == LOST
    world.amo.sync()
    assert world.fake.leads[lead_id]["status_id"] == LOST
    visit.refresh_from_db()
    assert visit.status == StatusCode.CANCELLED
    assert SyncLogEntry.objects.filter(action="lead.close_lost", result="ok").exists()
    page = client.get(url)
    assert b'data-panel-status="cancelled"' in page.content
    assert b"data-panel-cancel" not in page.content


def test_cancel_loses_the_deal_even_when_cancelled_maps_to_another_stage(client, world):
    cancelled_stage = world.fake.status_id("Отменён")
    world.amo.connection.settings["status_to_stage"]["cancelled"] = cancelled_stage
    world.amo.connection.save(update_fields=["settings"])
    _visit, lead_id = _linked_visit(world)
    url = _panel(client, world, lead_id)
    assert client.post(url + "cancel/", {"reason": "Передумал"}).status_code == 302
    world.amo.sync()
    assert world.fake.leads[lead_id]["status_id"] == LOST


def test_book_through_the_slot_list_links_the_visit_to_the_deal(client, world):
    service = ServiceFactory(name="Консультация", duration_minutes=30, price="1500.00")
    contact = world.fake.ui_add_contact("Новикова Вера Павловна", phone="+79165550011")
    lead_id = world.fake.ui_add_lead("Запись с сайта", contact_id=contact["id"])["id"]
    leads_before = len(world.fake.leads)
    url = _panel(client, world, lead_id)
    assert b"data-panel-book" in client.get(url).content
    assert b"data-panel-search-form" in client.get(url + "book/").content
    day = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    search = {
        "branch": world.desk["branch"].pk,
        "doctor": "",
        "services": [service.pk],
        "duration": "",
        "date": day,
    }
    slots = client.get(url + "book/slots/", search, HTTP_HX_REQUEST="true")
    assert slots.status_code == 200
    assert b"<html" not in slots.content
    queries = re.findall(r'hx-get="[^"]*book/confirm/\?([^"]+)"', slots.content.decode())
    assert len(queries) > 4
    chosen = next(q for q in queries if "T11%3A00" in q).replace("&amp;", "&")
    confirm = client.get(f"{url}book/confirm/?{chosen}", HTTP_HX_REQUEST="true")
    assert confirm.status_code == 200, confirm.content.decode()
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', confirm.content.decode()))
    data = {**fields, "services": [service.pk], "note": "Просит утро"}
    response = client.post(url + "book/confirm/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 204, response.content.decode()
    assert response["HX-Redirect"] == url
    visit = Appointment.objects.get(note="Просит утро")
    assert visit.start.astimezone(visit.branch.zone).hour == 11
    assert visit.duration == datetime.timedelta(minutes=30)
    assert visit.patient.last_name == "Новикова"
    assert [line.service_id for line in visit.service_lines.all()] == [service.pk]
    link = link_find(system=SYSTEM, external_type=LEAD, external_id=str(lead_id))
    assert link is not None and link.object_id == str(visit.pk)
    assert link_for(system=SYSTEM, obj=visit.patient).external_id == str(contact["id"])
    world.amo.sync()
    assert len(world.fake.leads) == leads_before
    deal = world.fake.leads[lead_id]
    assert deal["status_id"] == world.fake.status_id("Записан")
    assert "11:00" in deal["name"] and deal["price"] == 1500
    # The deal amoCRM made gets the visit's MIS ID like a deal the sync made.
    assert world.fake.lead_field_value(lead_id, "MIS_ID") == f"V{visit.pk}"
    assert b"data-panel-visit" in client.get(url).content


def _book_at(client, url: str, world, hour: int, note: str):
    day = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    data = {
        "branch": world.desk["branch"].pk,
        "doctor": world.desk["doctor"].pk,
        "chair": world.desk["chair"].pk,
        "duration": 30,
        "date": day,
        "start": f"{day}T{hour:02d}:00:00",
        "note": note,
    }
    return client.post(url + "book/confirm/", data)


def test_a_deal_whose_visit_was_cancelled_is_booked_again_on_the_same_deal(client, world):
    old, lead_id = _linked_visit(world)
    url = _panel(client, world, lead_id)
    # Booking is refused while the deal's visit is alive.
    assert client.get(url + "book/").status_code == 302
    assert _book_at(client, url, world, 15, "Рано").status_code == 302
    assert not Appointment.objects.filter(note="Рано").exists()
    assert client.post(url + "cancel/", {"reason": "Заболел"}).status_code == 302
    assert world.fake.leads[lead_id]["status_id"] == LOST
    page = client.get(url)
    assert b"data-panel-book-again" in page.content
    leads_before = len(world.fake.leads)
    assert _book_at(client, url, world, 15, "Перезвонил").status_code == 302
    new = Appointment.objects.get(note="Перезвонил")
    assert new.patient_id == old.patient_id
    link = link_find(system=SYSTEM, external_type=LEAD, external_id=str(lead_id))
    assert link is not None and link.object_id == str(new.pk)
    assert link_for(system=SYSTEM, obj=old) is None
    world.amo.sync()
    deal = world.fake.leads[lead_id]
    assert len(world.fake.leads) == leads_before
    assert deal["status_id"] == world.fake.status_id("Записан")  # back from "closed - lost"
    assert "15:00" in deal["name"]
    assert world.fake.lead_field_value(lead_id, "MIS_ID") == f"V{new.pk}"
    assert b"data-panel-book-again" not in client.get(url).content


def test_a_visit_cancelled_before_it_had_a_deal_gets_none(world):
    from calendar_app import services as calendar

    patient = new_patient(world.desk["user"])
    visit = book(world.desk, patient, days=1, hour=10)
    calendar.appointment_cancel(appointment=visit, by=world.desk["user"], reason="Передумал")
    leads_before = len(world.fake.leads)
    world.amo.sync()
    assert link_for(system=SYSTEM, obj=patient) is not None  # the patient went to amoCRM
    assert link_for(system=SYSTEM, obj=visit) is None
    assert len(world.fake.leads) == leads_before


def test_a_deal_whose_visit_was_deleted_offers_booking(client, world):
    old, lead_id = _linked_visit(world)
    url = _panel(client, world, lead_id)
    Appointment.objects.filter(pk=old.pk).update(deleted_at=timezone.now())
    page = client.get(url)
    assert page.status_code == 200
    assert b"data-panel-problem" in page.content and b"data-panel-book" in page.content
    assert _book_at(client, url, world, 16, "Снова").status_code == 302
    link = link_find(system=SYSTEM, external_type=LEAD, external_id=str(lead_id))
    assert link.object_id == str(Appointment.objects.get(note="Снова").pk)


def test_book_on_a_deal_without_a_contact_says_so(client, world):
    lead_id = world.fake.ui_add_lead("Без контакта")["id"]
    url = _panel(client, world, lead_id)
    day = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    data = {
        "branch": world.desk["branch"].pk,
        "doctor": world.desk["doctor"].pk,
        "chair": world.desk["chair"].pk,
        "duration": 30,
        "date": day,
        "start": f"{day}T11:00:00",
    }
    response = client.post(url + "book/confirm/", data)
    assert response.status_code == 422
    assert "У сделки нет контакта" in response.content.decode()  # the panel speaks Russian
    assert not Appointment.objects.exists()
