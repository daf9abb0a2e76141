"""Settings -> Integrations -> Sync log: the lines, filters, export, retry through handlers."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic import retention
from clinic.models import AuditEntry
from clinic.tests.factories import user_with_rights
from integrations import services, synclog
from integrations.models import SyncLogEntry

pytestmark = pytest.mark.django_db

URL = reverse("integrations:sync-log")


def line(**fields) -> SyncLogEntry:
    values = {
        "direction": "out",
        "system": "crm",
        "action": "contact.update",
        "result": "failed",
        "entity_type": "patient",
        "entity_id": 7,
        "error": "HTTP 500",
    }
    return synclog.log(**{**values, **fields})


def retry_url(entry) -> str:
    return reverse("integrations:sync-log-retry", args=[entry.pk])


def listed(response) -> list[int]:
    return [entry.pk for entry in response.context["page"]]


@pytest.fixture
def handler():
    calls: list[int] = []
    synclog.register_retry("crm", "contact.update", lambda entry: calls.append(entry.pk))
    yield calls
    synclog.unregister_retry("crm", "contact.update")


def test_secrets_are_masked_when_a_line_is_written():
    entry = line(
        changes={"token": {"access_token": "AT-1"}, "phone": ["1", "2"]},
        error='400 {"refresh_token": "RT-1"}',
    )
    entry.refresh_from_db()
    assert "AT-1" not in str(entry.changes) and entry.changes["phone"] == ["1", "2"]
    assert "RT-1" not in entry.error


def test_the_list_shows_lines_newest_first_with_error_and_changes(admin_client):
    old = line(changes={"phone": ["+70000000001", "+70000000002"]})
    new = line(result="ok", error="")
    response = admin_client.get(URL)
    assert response.status_code == 200
    assert listed(response) == [new.pk, old.pk]
    html = response.content.decode()
    assert "HTTP 500" in html and "+70000000002" in html


def test_filters_by_system_direction_result_and_search(admin_client):
    services.connection_ensure(system="crm")
    services.connection_ensure(system="sms")
    crm = line()
    sms = line(system="sms", direction="in", result="ok", entity_id=99, error="")
    assert listed(admin_client.get(URL, {"system": "sms"})) == [sms.pk]
    assert listed(admin_client.get(URL, {"direction": "out"})) == [crm.pk]
    assert listed(admin_client.get(URL, {"result": "failed"})) == [crm.pk]
    assert listed(admin_client.get(URL, {"q": "99"})) == [sms.pk]
    assert listed(admin_client.get(URL, {"q": "500"})) == [crm.pk]


def test_the_date_range_filters_by_day(admin_client):
    earlier = line()
    SyncLogEntry.objects.filter(pk=earlier.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=3)
    )
    today = line()
    day = timezone.localdate()
    assert listed(admin_client.get(URL, {"date_from": day.isoformat()})) == [today.pk]
    before = (day - datetime.timedelta(days=1)).isoformat()
    assert listed(admin_client.get(URL, {"date_to": before})) == [earlier.pk]


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "0001-01-01"},
        {"date_to": "9999-12-31"},
        {"date_from": "not a date"},
        {"result": "exploded"},
        {"direction": "sideways"},
        {"system": "nobody"},
    ],
)
def test_a_bad_filter_is_a_400_listing_nothing(admin_client, params):
    line()
    response = admin_client.get(URL, params)
    assert response.status_code == 400
    assert listed(response) == []


def test_a_bad_filter_with_export_is_refused(admin_client):
    assert admin_client.get(URL, {"date_from": "0001-01-01", "export": "csv"}).status_code == 400


def test_the_export_follows_the_filters(admin_client):
    line(entity_id=11)
    line(entity_id=12, result="ok", error="")
    response = admin_client.get(URL, {"result": "ok", "export": "csv"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert ";12;" in text and ";11;" not in text
    assert admin_client.get(URL, {"export": "xlsx"}).status_code == 200


def test_the_list_is_paginated(admin_client):
    for n in range(30):
        line(entity_id=n)
    response = admin_client.get(URL)
    assert len(response.context["page"]) == 25
    assert response.context["page"].paginator.count == 30


def test_the_list_reads_a_fixed_number_of_queries_whatever_the_lines(admin_client):
    conn = services.connection_ensure(system="crm")
    line(connection=conn)
    admin_client.get(URL)  # warm the session and rights caches
    with CaptureQueriesContext(connection) as one:
        admin_client.get(URL)
    for n in range(20):
        line(connection=conn, entity_id=n)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(URL)
    assert len(response.context["page"]) == 21
    assert len(many) == len(one)


def test_retry_hands_a_failed_line_to_its_handler_and_is_audited(
    admin_client, admin_persona, handler
):
    entry = line()
    html = admin_client.get(URL).content.decode()
    assert f'action="{retry_url(entry)}"' in html
    response = admin_client.post(retry_url(entry))
    assert response.status_code == 302
    assert handler == [entry.pk]
    entry.refresh_from_db()
    assert entry.retried_at is not None
    assert AuditEntry.objects.filter(object_id=str(entry.pk), actor=admin_persona.user).exists()


def test_without_a_handler_the_retry_says_so_and_queues_nothing(admin_client, settings):
    settings.LANGUAGE_CODE = "en"
    entry = line()
    html = admin_client.get(URL, headers={"accept-language": "en"}).content.decode()
    assert "data-no-retry" in html and f'action="{retry_url(entry)}"' not in html
    response = admin_client.post(retry_url(entry), follow=True)
    assert "No retry is available for crm contact.update" in response.content.decode()
    entry.refresh_from_db()
    assert entry.retried_at is None


def test_a_line_that_did_not_fail_is_not_retried(admin_client, handler):
    entry = line(result="ok", error="")
    admin_client.post(retry_url(entry))
    assert handler == []


def test_retry_from_htmx_answers_with_a_redirect_header(admin_client, handler):
    response = admin_client.post(retry_url(line()), headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == URL


def test_retry_needs_post(admin_client, handler):
    entry = line()
    assert admin_client.get(retry_url(entry)).status_code == 405
    assert handler == []


def test_staff_without_the_settings_right_are_refused(registrar_client, handler):
    entry = line()
    assert registrar_client.get(URL).status_code == 403
    assert registrar_client.post(retry_url(entry)).status_code == 403
    assert handler == []


def test_viewing_settings_is_not_enough_to_retry(client, branch, handler):
    entry = line()
    client.force_login(user_with_rights("settings_view", branch=branch))
    response = client.get(URL)
    assert response.status_code == 200
    assert "data-retry" not in response.content.decode()
    assert client.post(retry_url(entry)).status_code == 403
    assert handler == []


def test_retention_purges_old_successful_lines_only(settings):
    settings.ODONTA_RETENTION_DAYS = {**settings.ODONTA_RETENTION_DAYS, "sync_log_ok": 30}
    long_ago = timezone.now() - datetime.timedelta(days=31)
    old_ok, old_failed, new_ok = line(result="ok"), line(), line(result="ok")
    SyncLogEntry.objects.filter(pk__in=[old_ok.pk, old_failed.pk]).update(created_at=long_ago)
    purged = retention.purge_all()
    assert purged["sync_log_ok"] == 1
    assert set(SyncLogEntry.objects.values_list("pk", flat=True)) == {old_failed.pk, new_ok.pk}
