"""The patient list: filters, sorting, pagination, export, and a fixed number of queries."""

import csv
import datetime
import html
import io
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from clinic.models import AuditEntry
from clinic.phones import format_phone
from clinic.tests.factories import EmployeeFactory
from patients.tests.factories import (
    MarketingChannelFactory,
    PatientFactory,
    PatientGroupFactory,
)

pytestmark = pytest.mark.django_db

URL = reverse("patients:list")
MOSCOW = zoneinfo.ZoneInfo("Europe/Moscow")


def shown(response) -> list[str]:
    return [patient.last_name for patient in response.context["page"].object_list]


@pytest.fixture
def catalogue(branch, branch_elsewhere, doctor, coordinator):
    """Four patients that differ in every filtered attribute."""
    other_doctor = EmployeeFactory(last_name="Врачов")
    site = MarketingChannelFactory(name="Сайт клиники")
    friends = MarketingChannelFactory(name="Рекомендация")
    vip = PatientGroupFactory(name="VIP")
    regular = PatientGroupFactory(name="Постоянные")

    def created(day: int) -> datetime.datetime:
        return datetime.datetime(2026, 3, day, 12, tzinfo=MOSCOW)

    return {
        "a": PatientFactory(
            last_name="Абрамов",
            card_number=30,
            branch=branch,
            attending_doctor=doctor.employee,
            coordinator=coordinator.employee,
            marketing_channel=site,
            patient_group=vip,
            created_at=created(1),
        ),
        "b": PatientFactory(
            last_name="Борисова",
            card_number=10,
            branch=branch_elsewhere,
            attending_doctor=other_doctor,
            marketing_channel=friends,
            patient_group=regular,
            created_at=created(5),
        ),
        "c": PatientFactory(
            last_name="Васильев",
            card_number=20,
            branch=branch,
            attending_doctor=doctor.employee,
            marketing_channel=friends,
            is_active=False,
            created_at=created(10),
        ),
        "d": PatientFactory(last_name="Григорьева", card_number=40, created_at=created(20)),
        "refs": {"site": site, "friends": friends, "vip": vip, "doctor2": other_doctor},
    }


def test_the_list_shows_every_live_patient_by_name(registrar_client, catalogue):
    PatientFactory(last_name="Удалённый", deleted_at=timezone.now())
    response = registrar_client.get(URL)
    assert response.status_code == 200
    assert shown(response) == ["Абрамов", "Борисова", "Васильев", "Григорьева"]
    assert catalogue["a"].get_absolute_url() in response.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (lambda c, ctx: {"branch": ctx["branch"].pk}, ["Абрамов", "Васильев"]),
        (lambda c, ctx: {"branch": ctx["branch_elsewhere"].pk}, ["Борисова"]),
        (lambda c, ctx: {"attending_doctor": ctx["doctor"].employee.pk}, ["Абрамов", "Васильев"]),
        (lambda c, ctx: {"attending_doctor": c["refs"]["doctor2"].pk}, ["Борисова"]),
        (lambda c, ctx: {"coordinator": ctx["coordinator"].employee.pk}, ["Абрамов"]),
        (lambda c, ctx: {"marketing_channel": c["refs"]["site"].pk}, ["Абрамов"]),
        (lambda c, ctx: {"marketing_channel": c["refs"]["friends"].pk}, ["Борисова", "Васильев"]),
        (lambda c, ctx: {"patient_group": c["refs"]["vip"].pk}, ["Абрамов"]),
        (lambda c, ctx: {"is_active": "false"}, ["Васильев"]),
        (lambda c, ctx: {"is_active": "true"}, ["Абрамов", "Борисова", "Григорьева"]),
        (lambda c, ctx: {"created_from": "2026-03-05"}, ["Борисова", "Васильев", "Григорьева"]),
        (lambda c, ctx: {"created_to": "2026-03-05"}, ["Абрамов", "Борисова"]),
        (
            lambda c, ctx: {"created_from": "2026-03-02", "created_to": "2026-03-10"},
            ["Борисова", "Васильев"],
        ),
        (
            lambda c, ctx: {"branch": ctx["branch"].pk, "is_active": "true"},
            ["Абрамов"],
        ),
    ],
    ids=[
        "branch",
        "other-branch",
        "doctor",
        "other-doctor",
        "coordinator",
        "channel-site",
        "channel-friends",
        "group",
        "inactive",
        "active",
        "created-from",
        "created-to",
        "created-range",
        "combined",
    ],
)
def test_each_filter_narrows_the_list(
    registrar_client, catalogue, branch, branch_elsewhere, doctor, coordinator, params, expected
):
    context = {
        "branch": branch,
        "branch_elsewhere": branch_elsewhere,
        "doctor": doctor,
        "coordinator": coordinator,
    }
    response = registrar_client.get(URL, params(catalogue, context))
    assert response.status_code == 200
    assert shown(response) == expected


def test_a_stale_filter_value_does_not_drop_the_search(registrar_client, catalogue):
    response = registrar_client.get(URL, {"q": "абрам", "attending_doctor": 999_999})
    assert response.status_code == 200
    assert shown(response) == ["Абрамов"]
    assert "attending_doctor" in response.context["filter"].errors


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("card", ["Борисова", "Васильев", "Абрамов", "Григорьева"]),
        ("-card", ["Григорьева", "Абрамов", "Васильев", "Борисова"]),
        ("-created", ["Григорьева", "Васильев", "Борисова", "Абрамов"]),
        ("-name", ["Григорьева", "Васильев", "Борисова", "Абрамов"]),
    ],
)
def test_the_list_sorts_by_the_chosen_column(registrar_client, catalogue, ordering, expected):
    response = registrar_client.get(URL, {"ordering": ordering})
    assert shown(response) == expected


def test_the_list_paginates_and_keeps_the_filters_in_the_page_links(registrar_client, branch):
    PatientFactory.create_batch(30, last_name="Смирнов", branch=branch)
    response = registrar_client.get(URL, {"branch": branch.pk, "per_page": 25})
    page = response.context["page"]
    assert len(page.object_list) == 25
    assert page.paginator.count == 30
    assert f"?branch={branch.pk}&per_page=25&page=2" in html.unescape(response.content.decode())
    second = registrar_client.get(URL, {"branch": branch.pk, "page": 2})
    assert len(second.context["page"].object_list) == 5


def test_an_htmx_request_gets_only_the_results(registrar_client, catalogue):
    response = registrar_client.get(URL, {"q": "абрам"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="patient-results"')
    assert "<html" not in html and "app-filters" not in html
    assert shown(response) == ["Абрамов"]


@pytest.mark.parametrize("htmx", [False, True])
def test_the_list_runs_the_same_number_of_queries_for_5_and_40_patients(
    registrar_client, django_assert_num_queries, branch, doctor, coordinator, htmx
):
    channel = MarketingChannelFactory()
    group = PatientGroupFactory()
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}

    def make(count: int) -> None:
        PatientFactory.create_batch(
            count,
            branch=branch,
            attending_doctor=doctor.employee,
            coordinator=coordinator.employee,
            marketing_channel=channel,
            patient_group=group,
        )

    make(5)
    registrar_client.get(URL, **headers)  # warm the session and permission caches
    with CaptureQueriesContext(connection) as small:
        registrar_client.get(URL, {"per_page": 50}, **headers)
    make(35)
    with django_assert_num_queries(len(small)):
        response = registrar_client.get(URL, {"per_page": 50}, **headers)
    assert len(response.context["page"].object_list) == 40


# --- Export -------------------------------------------------------------------------------


def test_csv_export_lists_the_filtered_patients(registrar_client, catalogue, branch):
    response = registrar_client.get(URL, {"branch": branch.pk, "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert ".csv" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 3  # the header and the two patients of the branch
    body = {row[1]: row for row in rows[1:]}
    assert set(body) == {"Абрамов", "Васильев"}
    assert body["Абрамов"][0] == "30"
    assert body["Абрамов"][2:4] == ["Иван", "Иванович"]
    # "+7 ..." would open as a formula: the apostrophe keeps it text (clinic.lists.csv_value).
    assert body["Абрамов"][4] == "'" + format_phone(catalogue["a"].phone)
    assert body["Абрамов"][6] == "1985-05-17"
    assert body["Абрамов"][7] == branch.name
    assert body["Абрамов"][10] == "Сайт клиники"
    assert body["Абрамов"][11] == "VIP"


def test_xlsx_export_is_a_workbook_with_a_row_per_patient(registrar_client, catalogue):
    response = registrar_client.get(URL, {"export": "xlsx", "ordering": "card"})
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 5
    assert [row[0] for row in rows[1:]] == [10, 20, 30, 40]
    assert [row[1] for row in rows[1:]] == ["Борисова", "Васильев", "Абрамов", "Григорьева"]
    birth = rows[1][6]
    assert birth.date() == datetime.date(1985, 5, 17)
    created = rows[1][12]
    assert isinstance(created, datetime.datetime) and created.date() == datetime.date(2026, 3, 5)
    assert rows[3][9] == str(catalogue["a"].coordinator)


def test_export_is_recorded_in_the_audit_log(registrar_client, registrar, catalogue):
    response = registrar_client.get(URL, {"export": "csv", "q": "абрам"})
    b"".join(response.streaming_content)
    entry = AuditEntry.objects.filter(actor=registrar.user, action="view").latest("id")
    assert entry.object_repr.startswith("export csv")
    assert "q=" in entry.object_repr


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_needs_the_export_right(doctor_client, catalogue, fmt):
    response = doctor_client.get(URL, {"export": fmt})
    assert response.status_code == 403
    # The list itself is open to the doctor, without the export buttons.
    page = doctor_client.get(URL)
    assert page.status_code == 200
    assert "data-export" not in page.content.decode()


def test_the_list_needs_the_patients_right(outsider_client):
    assert outsider_client.get(URL).status_code == 403


def test_the_list_sends_an_anonymous_visitor_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
