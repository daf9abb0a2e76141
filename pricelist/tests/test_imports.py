"""Excel import with a preview (created, changed, unchanged, refused per row), applied in one
transaction; the export reads back as "unchanged"; hostile files are refused."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from pricelist import imports
from pricelist.models import Price, Service
from pricelist.prices import price_for

from .factories import BranchListFactory, ServiceCategoryFactory, ServiceFactory, priced

pytestmark = pytest.mark.django_db

URL = reverse("pricelist:import")
EARLY = datetime.date(2000, 1, 1)


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def workbook(*rows, headers=imports.EXPORT_HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(content: bytes, name: str = "prices.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def preview(client, content, name="prices.xlsx", **params):
    query = f"?list={params['list']}" if "list" in params else ""
    return client.post(URL + query, {"file": upload(content, name)})


@pytest.fixture
def known():
    service = ServiceFactory(code="A16.07.002", name="Пломба", price=Decimal("4000.00"))
    priced(service, "4000.00", on=EARLY)
    return service


def test_the_preview_sorts_rows_and_apply_writes_them(admin_client, known):
    ServiceCategoryFactory(name="Терапия")
    content = workbook(
        ("A16.07.002", "Пломба световая", "Терапия", 4500, 40, "да", None),
        ("B01.065.001", "Осмотр", "терапия", "1 200,50", 20, "нет", None),
        ("B01.065.002", "Без категории", "Нет такой", 100, 20, "", None),
        ("B01.065.003", "Отрицательная", "Терапия", -5, 20, "", None),
        ("B01.065.004", "Прошлое", "Терапия", 5, 20, "", "01.01.2020"),
        ("B01.065.001", "Дубль", "Терапия", 5, 20, "", None),
        ("B01.065.005", "Ноль минут", "Терапия", 5, 0, "", None),
        (None, None, None, None, None, None, None),
    )
    response = preview(admin_client, content)
    assert response.status_code == 200
    plan = response.context["plan"]
    by_row = {o.row: o for o in plan.outcomes}
    assert by_row[2].action == "update" and by_row[2].changes["price"] == ["4000.00", "4500"]
    assert by_row[3].action == "create"
    assert "no category" in by_row[4].errors[0]
    assert "cannot be negative" in by_row[5].errors[0]
    assert "not on a past day" in by_row[6].errors[0]
    assert "earlier row" in by_row[7].errors[0]
    assert "1 to 1440" in by_row[8].errors[0]
    assert len(plan.outcomes) == 7  # the empty row is dropped
    assert not Service.objects.filter(code="B01.065.001").exists()  # nothing written yet
    html = response.content.decode()
    assert "no category" in html and response.context["token"] in html

    response = admin_client.post(
        reverse("pricelist:import-apply"), {"token": response.context["token"]}
    )
    assert response.status_code == 302
    known.refresh_from_db()
    assert (known.name, known.duration_minutes, known.per_tooth) == ("Пломба световая", 40, True)
    assert known.price == Decimal("4500.00")
    assert price_for(known, branch=None, on=EARLY) == Decimal("4000.00")  # history kept
    made = Service.objects.get(code="B01.065.001")
    assert made.price == Decimal("1200.50") and made.category.name == "Терапия"
    assert not Service.objects.filter(code__in=["B01.065.002", "B01.065.003"]).exists()
    # The token is spent.
    again = admin_client.post(
        reverse("pricelist:import-apply"), {"token": response.wsgi_request.POST["token"]}
    )
    assert again.status_code == 302 and again.url == URL


def test_a_branch_list_import_sets_only_prices_of_known_services(admin_client, known, branch):
    branch_list = BranchListFactory(branch=branch)
    content = workbook(
        ("A16.07.002", "Другое имя", "", 5100, "", "", None),
        ("Z99", "Новая", "Терапия", 100, 30, "", None),
    )
    response = preview(admin_client, content, list=branch_list.pk)
    plan = response.context["plan"]
    assert [o.action for o in plan.outcomes] == ["update", "refused"]
    assert "base list first" in plan.outcomes[1].errors[0]
    admin_client.post(reverse("pricelist:import-apply"), {"token": response.context["token"]})
    known.refresh_from_db()
    assert known.name == "Пломба" and known.price == Decimal("4000.00")
    today = timezone.localdate()
    assert price_for(known, branch=branch, on=today) == Decimal("5100.00")
    assert price_for(known, branch=None, on=today) == Decimal("4000.00")


def test_apply_is_one_transaction(admin_client, known, monkeypatch):
    ServiceCategoryFactory(name="Терапия")
    content = workbook(
        ("B01.1", "Первая", "Терапия", 100, 30, "", None),
        ("A16.07.002", "Пломба", "Терапия", 4700, 30, "", None),
    )
    response = preview(admin_client, content)
    real = imports.writes.price_set

    def failing(**kwargs):
        real(**kwargs)
        raise ValidationError("the disk is full")

    monkeypatch.setattr(imports.writes, "price_set", failing)
    response = admin_client.post(
        reverse("pricelist:import-apply"), {"token": response.context["token"]}, follow=True
    )
    assert "Nothing was imported" in response.content.decode()
    assert not Service.objects.filter(code="B01.1").exists()
    assert Price.objects.filter(service=known).count() == 1


def test_the_export_reads_back_unchanged(admin_client, known, branch):
    other = ServiceFactory(code="=HYPERLINK()", name="+cmd", price=Decimal("10.00"))
    priced(other, "10.00", on=EARLY)
    response = admin_client.get(reverse("pricelist:services"), {"export": "xlsx"})
    assert response.status_code == 200
    content = response.content
    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == imports.EXPORT_HEADERS
    assert ("A16.07.002", "Пломба", "Терапия", 4000, 30, "нет", None) in rows
    response = preview(admin_client, content)
    assert {o.action for o in response.context["plan"].outcomes} == {"unchanged"}
    # A branch list exports only what it prices.
    branch_list = BranchListFactory(branch=branch)
    priced(known, "4400.00", on=EARLY, price_list=branch_list)
    response = admin_client.get(
        reverse("pricelist:services"), {"export": "xlsx", "list": branch_list.pk}
    )
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][3] == 4400


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"%PDF-1.4 not a workbook", "prices.xlsx", "not an Excel workbook"),
        (b"PK\x03\x04" + b"\x00" * 200, "prices.xlsx", "not an Excel workbook"),
        (b"code;price\nA;1\n", "prices.csv", "Upload an Excel .xlsx file"),
        (b"", "prices.xlsx", "empty"),
    ],
)
def test_a_file_that_is_not_a_workbook_is_refused(admin_client, content, name, message):
    response = preview(admin_client, content, name)
    assert response.status_code == 422
    assert message in response.content.decode()


def test_a_zip_that_is_not_a_workbook_is_refused(admin_client):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    response = preview(admin_client, buffer.getvalue())
    assert response.status_code == 422
    assert "could not be read" in response.content.decode()


def test_an_oversized_file_is_refused(admin_client, monkeypatch):
    from pricelist.forms import ImportForm

    monkeypatch.setattr(ImportForm, "MAX_SIZE", 1000)
    response = preview(admin_client, workbook(("A", "B", "C", 1, 1, "", None)))
    assert response.status_code == 422 and "larger than 10 MB" in response.content.decode()


def test_too_many_rows_or_no_columns_are_refused(admin_client, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    rows = [(f"C{n}", "Услуга", "Терапия", 1, 1, "", None) for n in range(5)]
    response = preview(admin_client, workbook(*rows))
    assert response.status_code == 422 and "more than 3 rows" in response.content.decode()
    response = preview(admin_client, workbook(("x",), headers=["Something"]))
    assert response.status_code == 422 and "no column for" in response.content.decode()


def test_someone_elses_or_a_forged_token_is_refused(admin_client, client, manager, known):
    response = preview(admin_client, workbook(("A16.07.002", "Пломба", "", 1, "", "", None)))
    token = response.context["token"]
    client.force_login(manager.user)
    for forged in (token, "x" * 20, "../../etc"):
        response = client.post(reverse("pricelist:import-apply"), {"token": forged})
        assert response.status_code == 302 and response.url == URL
    known.refresh_from_db()
    assert known.price == Decimal("4000.00")


def test_only_users_who_may_change_the_list_import(registrar_client):
    assert registrar_client.get(URL).status_code == 403
    assert (
        registrar_client.post(reverse("pricelist:import-apply"), {"token": "x"}).status_code == 403
    )
