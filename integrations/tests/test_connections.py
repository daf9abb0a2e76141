"""Connections: one per (system, name), credentials encrypted and never shown, statuses."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.urls import reverse

from clinic import crypto
from clinic.models import AuditEntry
from integrations import http, services
from integrations.models import Connection, ConnectionStatus

pytestmark = pytest.mark.django_db

SECRETS = {"access_token": "AT-1234567890", "refresh_token": "RT-0987654321", "expires_at": 1}


def stored_column(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM integrations_connection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_credentials_are_stored_encrypted_and_read_back_as_a_dict():
    conn = services.connection_ensure(system="crm", base_url="https://clinic.amocrm.ru")
    services.connection_credentials_set(connection=conn, credentials=SECRETS)
    raw = stored_column(conn.pk)
    assert "AT-1234567890" not in raw and "RT-" not in raw
    assert crypto.decrypt(raw).startswith("{")
    fresh = Connection.objects.get(pk=conn.pk)
    assert fresh.get_credentials() == SECRETS
    assert fresh.status == ConnectionStatus.CONNECTED
    assert "AT-" not in repr(fresh) and "AT-" not in str(fresh)


def test_one_connection_per_system_and_name():
    Connection.objects.create(system="crm", name="default")
    Connection.objects.create(system="crm", name="second")
    with pytest.raises(IntegrityError):
        Connection.objects.create(system="crm", name="default")


@pytest.mark.parametrize(
    "url",
    [
        "http://clinic.amocrm.ru",
        "https://user:pw@clinic.amocrm.ru",
        "https://clinic.amocrm.ru/?x=1",
        "https://localhost",
        "https://127.0.0.1",
        "ftp://clinic.amocrm.ru",
    ],
)
def test_the_base_url_must_be_an_https_host(url):
    with pytest.raises(ValidationError):
        Connection(system="crm", base_url=url).full_clean()


def test_a_good_base_url_passes():
    Connection(system="crm", base_url="https://clinic.kommo.com/").full_clean()


def test_status_changes_are_audited_and_credentials_are_not(admin_persona):
    conn = services.connection_ensure(system="crm")
    services.connection_credentials_set(connection=conn, credentials=SECRETS, by=admin_persona.user)
    services.connection_status_set(
        connection=conn, status=ConnectionStatus.PAUSED, reason="403 from the account"
    )
    assert conn.status == ConnectionStatus.PAUSED
    assert conn.status_changed_at is not None
    entries = AuditEntry.objects.filter(object_id=str(conn.pk))
    assert entries.count() == 2
    assert not any("AT-" in str(e.changes) or "RT-" in str(e.changes) for e in entries)
    # The same status again writes nothing.
    services.connection_status_set(
        connection=conn, status=ConnectionStatus.PAUSED, reason="403 from the account"
    )
    assert entries.count() == 2


def test_disconnect_forgets_the_credentials():
    conn = services.connection_ensure(system="crm")
    services.connection_credentials_set(connection=conn, credentials=SECRETS)
    services.connection_disconnect(connection=conn)
    fresh = Connection.objects.get(pk=conn.pk)
    assert fresh.get_credentials() == {} and not fresh.has_credentials
    assert fresh.status == ConnectionStatus.DISCONNECTED


def test_the_connection_lock_reads_the_row_fresh():
    conn = services.connection_ensure(system="crm")
    services.connection_credentials_set(connection=conn, credentials=SECRETS)
    with services.connection_lock(conn.pk) as locked:
        assert locked.get_credentials()["access_token"] == "AT-1234567890"


def test_the_integrations_page_lists_connections_without_secrets(admin_client):
    conn = services.connection_ensure(system="crm", base_url="https://clinic.amocrm.ru")
    services.connection_credentials_set(connection=conn, credentials=SECRETS)
    response = admin_client.get(reverse("integrations:index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-connection="{conn.pk}"' in html
    assert "AT-" not in html and "RT-" not in html and stored_column(conn.pk) not in html


def test_the_integrations_page_is_a_tab_of_settings(admin_client):
    html = admin_client.get(reverse("clinic:settings")).content.decode()
    assert f'href="{reverse("integrations:index")}"' in html


def test_the_integrations_page_needs_the_settings_right(registrar_client):
    assert registrar_client.get(reverse("integrations:index")).status_code == 403


def test_a_403_pauses_the_connection_and_a_final_401_asks_for_reconnecting():
    conn = services.connection_ensure(system="crm")
    services.connection_credentials_set(connection=conn, credentials=SECRETS)
    services.connection_status_after(connection=conn, error=http.ServerError("HTTP 502"))
    assert conn.status == ConnectionStatus.CONNECTED
    services.connection_status_after(connection=conn, error=http.Forbidden("GET /x: HTTP 403"))
    assert Connection.objects.get(pk=conn.pk).status == ConnectionStatus.PAUSED
    assert conn.status_reason == "GET /x: HTTP 403"
    services.connection_status_after(connection=conn, error=http.Unauthorized("HTTP 401"))
    assert Connection.objects.get(pk=conn.pk).status == ConnectionStatus.NEEDS_RECONNECT


def test_an_audit_snapshot_never_holds_the_credentials():
    from clinic import audit

    conn = services.connection_ensure(system="crm")
    conn.set_credentials(SECRETS)
    assert audit.snapshot(conn)["credentials"] == audit.SECRET_SET
    audit.record_created(actor=None, obj=conn)
    entry = AuditEntry.objects.filter(object_id=str(conn.pk)).latest("id")
    assert "AT-" not in str(entry.changes) and "RT-" not in str(entry.changes)
