"""The audit log page at /settings/audit/: access, filters, export, bounded queries."""

import csv
import datetime
import io
import zoneinfo

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from clinic import audit
from clinic.models import AuditEntry, Chair
from clinic.tests.factories import BranchFactory, ChairFactory, user_with_rights

pytestmark = pytest.mark.django_db

URL = reverse("clinic:audit")
MOSCOW = zoneinfo.ZoneInfo("Europe/Moscow")


def shown(response) -> list[int]:
    return [entry.pk for entry in response.context["page"].object_list]


@pytest.fixture
def log(admin_persona, registrar, branch):
    """A small log: two users, two object types, a patient, three days."""
    chair = ChairFactory(branch=branch)
    entries = {}
    with time_machine.travel(datetime.datetime(2026, 3, 1, 12, tzinfo=MOSCOW), tick=False):
        entries["admin_branch"] = audit.record(
            actor=admin_persona.user, action="update", obj=branch, changes={"name": ["a", "b"]}
        )
    with time_machine.travel(datetime.datetime(2026, 3, 2, 12, tzinfo=MOSCOW), tick=False):
        entries["registrar_chair"] = audit.record(actor=registrar.user, action="create", obj=chair)
    with time_machine.travel(datetime.datetime(2026, 3, 3, 0, 30, tzinfo=MOSCOW), tick=False):
        entries["registrar_view"] = audit.record_viewed(
            actor=registrar.user, obj=branch, patient_id=42
        )
    return entries


def test_the_audit_right_opens_the_log(client, branch, log):
    client.force_login(user_with_rights("audit_view", branch=branch))
    response = client.get(URL)
    assert response.status_code == 200
    assert shown(response) == [e.pk for e in reversed(log.values())]
    assert "data-audit-table" in response.content.decode()


@pytest.mark.parametrize("persona", ["registrar", "doctor", "accountant", "coordinator"])
def test_roles_without_the_audit_right_are_refused(client, persona, request):
    client.force_login(request.getfixturevalue(persona).user)
    assert client.get(URL).status_code == 403


def test_settings_rights_alone_do_not_open_the_audit_log(client, branch):
    client.force_login(user_with_rights("settings_view", "settings_change", branch=branch))
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_filter_by_user(admin_client, log, registrar):
    response = admin_client.get(URL, {"actor": registrar.user.pk})
    assert shown(response) == [log["registrar_view"].pk, log["registrar_chair"].pk]


def test_filter_by_action(admin_client, log):
    response = admin_client.get(URL, {"action": "view"})
    assert shown(response) == [log["registrar_view"].pk]


def test_filter_by_object_type(admin_client, log):
    chair_type = ContentType.objects.get_for_model(Chair)
    response = admin_client.get(URL, {"content_type": chair_type.pk})
    assert shown(response) == [log["registrar_chair"].pk]


def test_filter_by_patient(admin_client, log):
    response = admin_client.get(URL, {"patient_id": 42})
    assert shown(response) == [log["registrar_view"].pk]


def test_filter_by_dates_uses_the_local_calendar_day(admin_client, log):
    # 00:30 in Moscow on 3 March is still 2 March in UTC; the log filters by local days.
    response = admin_client.get(URL, {"date_from": "2026-03-02", "date_to": "2026-03-02"})
    assert shown(response) == [log["registrar_chair"].pk]
    response = admin_client.get(URL, {"date_from": "2026-03-03"})
    assert shown(response) == [log["registrar_view"].pk]
    response = admin_client.get(URL, {"date_to": "2026-03-01"})
    assert shown(response) == [log["admin_branch"].pk]


def test_an_invalid_filter_shows_the_whole_log_instead_of_failing(admin_client, log):
    response = admin_client.get(URL, {"date_from": "not a date"})
    assert response.status_code == 200
    assert len(shown(response)) == 3


def test_csv_export_has_a_header_and_one_row_per_filtered_entry(admin_client, log, registrar):
    response = admin_client.get(URL, {"actor": registrar.user.pk, "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:4] == ["id", "time", "user", "action"]
    assert [int(row[0]) for row in rows[1:]] == [
        log["registrar_view"].pk,
        log["registrar_chair"].pk,
    ]
    assert rows[1][3] == "view"
    assert rows[1][7] == "42"


def test_xlsx_export_is_a_workbook_with_the_entries(admin_client, log):
    response = admin_client.get(URL, {"export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "id"
    assert [row[0] for row in rows[1:]] == [e.pk for e in reversed(log.values())]
    assert rows[-1][2] == log["admin_branch"].actor_name
    assert isinstance(rows[-1][1], datetime.datetime)


def test_the_page_runs_the_same_number_of_queries_for_5_or_50_entries(
    admin_client, admin_persona, django_assert_num_queries
):
    def add_entries(count: int) -> None:
        for i in range(count):
            obj = BranchFactory() if i % 2 else ChairFactory()
            audit.record(actor=admin_persona.user, action="update", obj=obj, changes={"i": [i, 1]})

    add_entries(5)
    admin_client.get(URL)  # warm the caches the shell fills once (organization, sessions)
    with CaptureQueriesContext(connection) as few:
        assert len(shown(admin_client.get(URL))) == 5
    add_entries(45)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(shown(admin_client.get(URL))) == 50


def test_the_log_is_paginated_by_fifty(admin_client, branch):
    for i in range(55):
        audit.record(actor=None, action="update", obj=branch, changes={"i": [i, i + 1]})
    assert len(shown(admin_client.get(URL))) == 50
    assert len(shown(admin_client.get(URL, {"page": 2}))) == 5
    assert AuditEntry.objects.count() == 55
