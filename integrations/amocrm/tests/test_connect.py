"""Settings -> Integrations -> amoCRM: connecting (OAuth, long-lived token), the integration
page, disconnecting; over HTTP against the fake amoCRM."""

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from clinic.models import AuditEntry
from integrations.amocrm import setup, usage
from integrations.amocrm.config import SYSTEM
from integrations.amocrm.tests.ui import (
    CALLBACK,
    CONNECT,
    DISCONNECT,
    INTEGRATION,
    REDIRECT_URI,
    connect_fake,
    login_with_rights,
    stored_credentials,
)
from integrations.links import link_set
from integrations.models import (
    Connection,
    ConnectionStatus,
    ExternalLink,
    InboundWebhook,
    SyncDecision,
)
from integrations.services import connection_status_set
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def start_oauth(client, fake, **overrides):
    data = {
        "mode": "oauth",
        "oauth-base_url": fake.url,
        "oauth-client_id": fake.client_id,
        "oauth-client_secret": fake.client_secret,
        **overrides,
    }
    return client.post(CONNECT, data)


def started_state(response, fake) -> str:
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}" == fake.url
    assert location.path == "/oauth"
    query = parse_qs(location.query)
    assert query["client_id"] == [fake.client_id]
    return query["state"][0]


def referer(fake) -> str:
    return urlsplit(fake.url).netloc


# --- OAuth ---------------------------------------------------------------------------------


def test_oauth_round_trip_stores_encrypted_tokens_and_the_account(manager_client, fake_amo, caplog):
    caplog.set_level(logging.DEBUG)
    fake_amo.redirect_uri = REDIRECT_URI  # as pasted into the integration's settings
    state = started_state(start_oauth(manager_client, fake_amo), fake_amo)
    code = fake_amo.issue_code()

    response = manager_client.get(
        CALLBACK,
        {
            "code": code,
            "state": state,
            "referer": referer(fake_amo),
            "client_id": fake_amo.client_id,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/integrations/amocrm/setup/pipeline/"
    connection = Connection.objects.get(system=SYSTEM)
    credentials = connection.get_credentials()
    assert credentials["kind"] == "oauth"
    assert credentials["client_id"] == fake_amo.client_id
    assert credentials["client_secret"] == fake_amo.client_secret
    assert credentials["redirect_uri"] == REDIRECT_URI
    assert credentials["access_token"] and credentials["refresh_token"]
    assert isinstance(credentials["expires_at"], int)
    raw = stored_credentials(connection.pk)
    for secret in (
        credentials["access_token"],
        credentials["refresh_token"],
        fake_amo.client_secret,
    ):
        assert secret not in raw
        assert secret not in caplog.text
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.base_url == fake_amo.url
    assert connection.settings["account_id"] == fake_amo.account_id
    assert connection.settings["subdomain"] == "clinic"
    audit = AuditEntry.objects.filter(object_id=str(connection.pk)).values_list(
        "changes", flat=True
    )
    assert audit and all(credentials["access_token"] not in str(c) for c in audit)
    page = manager_client.get(INTEGRATION).content.decode()
    assert "clinic" in page and credentials["access_token"] not in page


def test_the_connect_page_shows_the_redirect_uri_to_paste(manager_client):
    response = manager_client.get(CONNECT)
    assert response.status_code == 200
    assert REDIRECT_URI in response.content.decode()


def test_the_authorization_page_is_amocrm_s_or_kommo_s():
    amo = setup.authorize_url("https://clinic.amocrm.ru", client_id="id-1", state="s1")
    kommo = setup.authorize_url("https://clinic.kommo.com", client_id="id-1", state="s1")
    assert amo == "https://www.amocrm.ru/oauth?client_id=id-1&state=s1"
    assert kommo == "https://www.kommo.com/oauth?client_id=id-1&state=s1"


def test_a_wrong_state_is_refused_with_a_message(manager_client, fake_amo):
    started_state(start_oauth(manager_client, fake_amo), fake_amo)
    code = fake_amo.issue_code()
    response = manager_client.get(
        CALLBACK, {"code": code, "state": "forged", "referer": referer(fake_amo)}
    )
    assert response.status_code == 400
    assert "Start connecting again" in response.content.decode()
    assert not Connection.objects.filter(system=SYSTEM).exclude(credentials="").exists()
    assert not [r for r in fake_amo.journal if r.path == "/oauth2/access_token"]


def test_a_callback_without_a_started_connection_is_refused(manager_client, fake_amo):
    response = manager_client.get(CALLBACK, {"code": "x", "state": "x", "referer": "x"})
    assert response.status_code == 400


def test_the_state_is_used_once(manager_client, fake_amo):
    fake_amo.redirect_uri = REDIRECT_URI
    state = started_state(start_oauth(manager_client, fake_amo), fake_amo)
    params = {"code": fake_amo.issue_code(), "state": state, "referer": referer(fake_amo)}
    assert manager_client.get(CALLBACK, params).status_code == 302
    assert manager_client.get(CALLBACK, params).status_code == 400


def test_a_forged_referer_is_refused_and_the_code_never_leaves(manager_client, fake_amo):
    state = started_state(start_oauth(manager_client, fake_amo), fake_amo)
    response = manager_client.get(
        CALLBACK, {"code": fake_amo.issue_code(), "state": state, "referer": "evil.example.com"}
    )
    assert response.status_code == 400
    assert "another account" in response.content.decode()
    assert not [r for r in fake_amo.journal if r.path == "/oauth2/access_token"]
    assert not Connection.objects.filter(system=SYSTEM).exclude(credentials="").exists()


def test_access_denied_says_so(manager_client, fake_amo):
    state = started_state(start_oauth(manager_client, fake_amo), fake_amo)
    response = manager_client.get(CALLBACK, {"error": "access_denied", "state": state})
    assert response.status_code == 400
    assert "Access was not granted" in response.content.decode()


def test_a_code_amocrm_refuses_is_a_message_not_a_500(manager_client, fake_amo):
    fake_amo.redirect_uri = REDIRECT_URI
    state = started_state(start_oauth(manager_client, fake_amo), fake_amo)
    response = manager_client.get(
        CALLBACK, {"code": "def502nonsense", "state": state, "referer": referer(fake_amo)}
    )
    assert response.status_code == 400
    assert "amoCRM refused the token" in response.content.decode()


@pytest.mark.parametrize(
    "address",
    [
        "https://evil.example.com",
        "http://clinic.amocrm.ru",
        "https://www.amocrm.ru",
        "https://clinic.amocrm.ru.evil.com",
        "https://user:pw@clinic.amocrm.ru",
        "https://clinic.amocrm.ru:8443",
        "javascript:alert(1)",
        "x" * 400,
    ],
)
def test_only_amocrm_and_kommo_accounts_are_accepted(manager_client, address):
    response = manager_client.post(
        CONNECT,
        {
            "mode": "oauth",
            "oauth-base_url": address,
            "oauth-client_id": "a",
            "oauth-client_secret": "b",
        },
    )
    assert response.status_code == 422
    assert 'id="id_oauth-base_url_error"' in response.content.decode()


def test_account_addresses_are_normalized():
    assert setup.account_address("clinic.amocrm.ru") == "https://clinic.amocrm.ru"
    assert setup.account_address(" https://Clinic.Kommo.com/leads/ ") == "https://clinic.kommo.com"


def test_loopback_is_refused_unless_allowed(settings):
    settings.AMOCRM_ALLOW_LOOPBACK = False
    with pytest.raises(ValidationError):
        setup.account_address("http://127.0.0.1:8123")
    settings.AMOCRM_ALLOW_LOOPBACK = True
    assert setup.account_address("http://127.0.0.1:8123") == "http://127.0.0.1:8123"


# --- A long-lived token --------------------------------------------------------------------


def test_a_long_lived_token_connects(manager_client, fake_amo):
    response = manager_client.post(
        CONNECT,
        {
            "mode": "token",
            "token-base_url": fake_amo.url,
            "token-access_token": fake_amo.long_lived_token,
        },
    )
    assert response.status_code == 302
    connection = Connection.objects.get(system=SYSTEM)
    assert connection.get_credentials() == {
        "kind": "long_lived",
        "access_token": fake_amo.long_lived_token,
        "expires_at": None,
    }
    assert connection.settings["account_id"] == fake_amo.account_id
    assert fake_amo.long_lived_token not in stored_credentials(connection.pk)


def test_a_bad_token_is_a_form_error(manager_client, fake_amo):
    response = manager_client.post(
        CONNECT,
        {"mode": "token", "token-base_url": fake_amo.url, "token-access_token": "wrong-token"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "amoCRM refused the token." in page
    assert "wrong-token" not in page
    assert not Connection.objects.filter(system=SYSTEM).exclude(credentials="").exists()


def test_an_unreachable_account_is_a_form_error(manager_client, fake_amo):
    fake_amo.fail_next(503, times=5)
    response = manager_client.post(
        CONNECT,
        {
            "mode": "token",
            "token-base_url": fake_amo.url,
            "token-access_token": fake_amo.long_lived_token,
        },
    )
    assert response.status_code == 422
    assert "amoCRM did not answer" in response.content.decode()


def test_another_account_starts_the_setup_anew(manager_client, fake_amo):
    connection = connect_fake(fake_amo, pipeline_id=5, setup_done=True, account_id=1)
    assert connection.settings["account_id"] == 1
    response = manager_client.post(
        CONNECT,
        {
            "mode": "token",
            "token-base_url": fake_amo.url,
            "token-access_token": fake_amo.long_lived_token,
        },
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.settings["account_id"] == fake_amo.account_id
    assert "pipeline_id" not in connection.settings
    assert connection.settings["setup_done"] is False


# --- The integration page ------------------------------------------------------------------


def test_the_page_offers_to_connect_when_nothing_is_connected(manager_client):
    response = manager_client.get(INTEGRATION)
    assert response.status_code == 200
    assert b'data-amocrm-state="disconnected"' in response.content


def test_a_revoked_token_asks_to_reconnect(manager_client, fake_amo):
    connection = connect_fake(fake_amo)
    connection_status_set(
        connection=connection, status=ConnectionStatus.NEEDS_RECONNECT, reason="HTTP 401"
    )
    page = manager_client.get(INTEGRATION).content.decode()
    assert "data-amocrm-reconnect-now" in page
    assert "HTTP 401" in page


def test_the_health_counters(manager_client, fake_amo):
    connection = connect_fake(fake_amo, last_reconcile_at=1_699_963_200)
    patients = PatientFactory.create_batch(2)
    for number, patient in enumerate(patients):
        link_set(system=SYSTEM, obj=patient, external_type="contact", external_id=str(100 + number))
    InboundWebhook.objects.create(system=SYSTEM, dedupe_key="a", body="", body_hash="a")
    SyncDecision.objects.create(
        system=SYSTEM, connection=connection, external_type="contact", external_id="9", reason="r"
    )
    usage.count_request(connection.pk)
    response = manager_client.get(INTEGRATION)
    page = response.content.decode()
    assert 'data-health="contacts">2<' in page
    assert 'data-health="leads">0<' in page
    assert 'data-health="pending">1<' in page
    assert 'data-health="decisions">1<' in page
    assert 'data-health="requests">1<' in page
    assert "14.11.2023" in page  # the last reconcile
    assert "/integrations/sync-log/?system=amocrm" in page
    assert "/integrations/amocrm/decisions/" in page
    assert "/integrations/amocrm/initial/" in page  # the lead's page, linked once it exists


def test_the_integration_page_s_queries_do_not_grow_with_the_links(manager_client, fake_amo):
    connect_fake(fake_amo)

    def queries() -> int:
        with CaptureQueriesContext(db) as captured:
            assert manager_client.get(INTEGRATION).status_code == 200
        return len(captured)

    for patient in PatientFactory.create_batch(2):
        link_set(system=SYSTEM, obj=patient, external_type="contact", external_id=f"c{patient.pk}")
    queries()  # the session and the rights are read once, then cached
    few = queries()
    for patient in PatientFactory.create_batch(10):
        link_set(system=SYSTEM, obj=patient, external_type="contact", external_id=f"c{patient.pk}")
    assert queries() == few


def test_the_integrations_list_has_the_amocrm_entry(manager_client):
    response = manager_client.get("/integrations/")
    assert b'data-integration="amocrm"' in response.content


# --- Disconnecting -------------------------------------------------------------------------


def test_disconnect_forgets_the_token_removes_our_webhook_and_keeps_links(manager_client, fake_amo):
    hook = "http://testserver/integrations/amocrm/hook/s3cret/"
    connection = connect_fake(
        fake_amo, webhook_secret="s3cret", webhook_destination=hook, setup_done=True
    )
    with setup.AmoClient(connection) as client:
        client.webhook_add(hook, ["add_contact"])
    patient = PatientFactory()
    link_set(system=SYSTEM, obj=patient, external_type="contact", external_id="77")

    response = manager_client.post(DISCONNECT)

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert connection.get_credentials() == {}
    assert connection.settings["setup_done"] is False
    assert ExternalLink.objects.filter(system=SYSTEM, external_id="77").exists()
    assert [h["destination"] for h in fake_amo.webhooks] == []


def test_disconnect_goes_on_when_amocrm_refuses_to_remove_the_webhook(manager_client, fake_amo):
    connection = connect_fake(fake_amo, webhook_destination="http://testserver/x/")
    fake_amo.block()
    assert manager_client.post(DISCONNECT).status_code == 302
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED


def test_the_disconnect_button_asks_first(manager_client, fake_amo):
    connect_fake(fake_amo)
    page = manager_client.get(INTEGRATION).content.decode()
    assert 'action="/integrations/amocrm/disconnect/" data-confirm=' in page


def test_disconnect_is_a_post(manager_client):
    assert manager_client.get(DISCONNECT).status_code == 405


# --- Rights and hostile input --------------------------------------------------------------


def test_without_settings_rights_everything_is_refused(registrar_client):
    assert registrar_client.get(INTEGRATION).status_code == 403
    assert registrar_client.get(CONNECT).status_code == 403
    assert registrar_client.post(DISCONNECT).status_code == 403
    assert registrar_client.get(CALLBACK, {"state": "x"}).status_code == 403


def test_a_viewer_sees_the_page_but_changes_nothing(client, branch, fake_amo):
    connection = connect_fake(fake_amo)
    login_with_rights(client, branch, ("settings", "view"))
    page = client.get(INTEGRATION)
    assert page.status_code == 200
    assert b"data-amocrm-disconnect" not in page.content
    assert client.get(CONNECT).status_code == 403
    assert client.post(CONNECT, {"mode": "token"}).status_code == 403
    assert client.post(DISCONNECT).status_code == 403
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED


def test_nul_bytes_in_the_connect_form_are_refused(manager_client):
    response = manager_client.post(
        CONNECT,
        {"mode": "token", "token-base_url": "clinic.amocrm.ru\x00", "token-access_token": "a\x00b"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("token", ["a;b", "тóкен", "x" * 5000, "<script>"])
def test_a_token_that_cannot_be_one_is_a_form_error(manager_client, fake_amo, token):
    response = manager_client.post(
        CONNECT, {"mode": "token", "token-base_url": fake_amo.url, "token-access_token": token}
    )
    assert response.status_code == 422
    assert not [r for r in fake_amo.journal if r.path.startswith("/api/")]


def test_a_junk_code_in_the_callback_is_refused(manager_client, fake_amo):
    state = started_state(start_oauth(manager_client, fake_amo), fake_amo)
    response = manager_client.get(
        CALLBACK, {"code": "<b>" * 10, "state": state, "referer": referer(fake_amo)}
    )
    assert response.status_code == 400
