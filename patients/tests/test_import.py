"""Importing patients from another system's Excel or CSV: preview, confirm, and bad files
that get a clear error and change nothing. Celery is eager here: the job runs on commit."""

import datetime
import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from clinic.models import AuditEntry, OutboxEvent
from clinic.numbering import next_number
from clinic.tasks import outbox_dispatch_many
from clinic.tests.factories import GenderFactory
from patients import imports
from patients.models import ImportStatus, Patient, PatientImport
from patients.services import CARD_SEQUENCE
from patients.tests.conftest import IMPORT_URL as URL
from patients.tests.conftest import csv_bytes, xlsx_bytes
from patients.tests.factories import (
    MarketingChannelFactory,
    PatientFactory,
    PatientImportFactory,
    broken_snils,
    valid_snils,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

HEADER = ["Фамилия", "Имя", "Отчество", "Телефон", "Дата рождения", "СНИЛС", "Email"]


@pytest.fixture
def existing():
    return PatientFactory(
        last_name="Старова",
        first_name="Анна",
        middle_name="",
        phone="+79160000001",
        email="",
        birth_date=datetime.date(1970, 1, 2),
    )


def mixed_rows():
    """One row of each kind; row numbers in the file start at 2 (after the header)."""
    return [
        HEADER,
        ["Новикова", "Мария", "Петровна", "8 (912) 345-67-89", "14.03.1986", valid_snils(), ""],
        ["Старова", "Анна", "Ивановна", "+7 916 000-00-01", "02.01.1970", "", "anna@mail.ru"],
        ["Плохой", "Телефон", "", "12345", "", "", ""],
        ["Плохой", "СНИЛС", "", "+79161111111", "", broken_snils(), ""],
        ["Плохая", "Дата", "", "+79162222222", "31.02.1990", "", ""],
        ["", "", "Безымянный", "+79163333333", "", "", ""],
        ["Дубль", "Первый", "", "+79164444444", "", "", ""],
        ["Дубль", "Второй", "", "8 916 444-44-44", "", "", ""],
        ["", "", "", "", "", "", ""],  # an empty row in the middle is skipped silently
        ["Будущая", "Дата", "", "+79165555555", "01.01.2999", "", ""],
    ]


def reasons(job) -> dict[int, str]:
    return {row["row"]: row["reason"] for row in job.preview["invalid"]}


# --- Preview ---------------------------------------------------------------------------


def test_the_preview_sorts_rows_into_new_updated_and_invalid_with_reasons(importer, existing):
    job = importer.check("old-system.csv", csv_bytes(mixed_rows()))
    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEW, job.error
    assert (job.new_count, job.update_count, job.invalid_count) == (2, 1, 6)
    assert job.total_rows == job.processed_rows == 9  # the empty row is not counted
    invalid = reasons(job)
    assert sorted(invalid) == [4, 5, 6, 7, 9, 11]
    assert "12345" in invalid[4] and "phone" in invalid[4].lower()
    assert "check number" in invalid[5]
    assert "31.02.1990" in invalid[6]
    assert "name" in invalid[7].lower()
    assert "row 8" in invalid[9]
    assert "01.01.2999" in invalid[11]
    assert [row["row"] for row in job.preview["new"]] == [2, 8]
    update = job.preview["update"]
    assert [(row["row"], row["name"]) for row in update] == [(3, "Старова Анна Ивановна")]
    assert sorted(update[0]["changes"]) == ["email", "patronymic"]
    # Nothing changed yet.
    assert Patient.objects.count() == 1
    existing.refresh_from_db()
    assert existing.middle_name == ""
    assert not OutboxEvent.objects.filter(name__startswith="patient.import").exists()


def test_the_preview_page_shows_the_counts_and_the_reasons(importer, existing):
    job = importer.check("old-system.csv", csv_bytes(mixed_rows()))
    response = importer.client.get(
        reverse("patients:import-detail", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-import-status="preview"' in content
    assert '<div class="app-stat text-success" data-count-new>2</div>' in content
    assert '<div class="app-stat text-primary" data-count-update>1</div>' in content
    assert '<div class="app-stat text-danger" data-count-invalid>6</div>' in content
    assert "data-invalid-rows" in content and "12345" in content
    assert "data-import-confirm" in content


def test_the_progress_partial_is_served_to_htmx(importer, existing):
    job = importer.check("old-system.csv", csv_bytes(mixed_rows()))
    response = importer.client.get(
        reverse("patients:import-detail", args=[job.pk]), HTTP_HX_REQUEST="true"
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="import-job"')
    assert "<html" not in content


def test_a_running_job_polls_its_progress(admin_client):
    job = PatientImportFactory(status=ImportStatus.IMPORTING, total_rows=200, processed_rows=50)
    response = admin_client.get(
        reverse("patients:import-detail", args=[job.pk]), HTTP_HX_REQUEST="true"
    )
    content = response.content.decode()
    assert 'hx-trigger="every 1s"' in content
    assert 'aria-valuenow="25"' in content


# --- Confirm ---------------------------------------------------------------------------


def test_confirming_imports_new_and_updated_rows_and_skips_invalid_ones(importer, existing):
    job = importer.check("old-system.csv", csv_bytes(mixed_rows()))
    first_number = next_number(CARD_SEQUENCE) + 1
    job = importer.confirm(job)
    assert job.status == ImportStatus.DONE, job.error
    assert (job.new_count, job.update_count, job.invalid_count) == (2, 1, 6)
    assert job.processed_rows == job.total_rows == 9
    assert job.finished_at is not None
    new = Patient.objects.exclude(pk=existing.pk).order_by("card_number")
    assert [(p.last_name, p.phone) for p in new] == [
        ("Новикова", "+79123456789"),
        ("Дубль", "+79164444444"),
    ]
    assert [p.card_number for p in new] == [first_number, first_number + 1]
    novikova = new[0]
    assert novikova.birth_date == datetime.date(1986, 3, 14)
    assert novikova.snils == valid_snils()
    assert novikova.last_activity_at is not None and novikova.created_at is not None
    existing.refresh_from_db()
    assert (existing.middle_name, existing.email) == ("Ивановна", "anna@mail.ru")
    assert not Patient.objects.filter(last_name__in=["Плохой", "Плохая", "Будущая"]).exists()
    # Both kinds of change are on the timelines, and the import is audited.
    assert list(novikova.timeline.values_list("name", flat=True)) == ["patient.imported"]
    assert list(existing.timeline.values_list("name", flat=True)) == ["patient.import_updated"]
    summary = AuditEntry.objects.filter(object_repr="import old-system.csv").latest("id")
    assert summary.changes == {
        "status": ["importing", "done"],
        "created": [None, 2],
        "updated": [None, 1],
    }


def test_an_update_keeps_the_card_number_and_the_columns_the_file_lacks(importer, existing):
    channel = MarketingChannelFactory(name="Сайт")
    Patient.objects.filter(pk=existing.pk).update(marketing_channel=channel, comment="Важно")
    number = existing.card_number
    job = importer.check(
        "update.csv",
        csv_bytes([["Фамилия", "Имя", "Телефон"], ["Старова", "Анна", "+79160000001"]]),
    )
    importer.confirm(job)
    existing.refresh_from_db()
    assert existing.card_number == number
    assert existing.marketing_channel == channel and existing.comment == "Важно"


def test_importing_the_same_file_again_creates_no_duplicates(importer, existing):
    content = csv_bytes(mixed_rows())
    importer.confirm(importer.check("old-system.csv", content))
    count = Patient.objects.count()
    second = importer.check("old-system.csv", content)
    assert (second.new_count, second.update_count, second.skipped_count) == (0, 0, 3)
    second = importer.confirm(second)
    assert second.status == ImportStatus.DONE
    assert Patient.objects.count() == count == 3
    assert Patient.objects.filter(phone="+79123456789").count() == 1


@pytest.mark.parametrize(
    ("delimiter", "encoding"),
    [(";", "utf-8-sig"), (",", "utf-8-sig"), (";", "cp1251"), (",", "cp1251"), (",", "utf-8")],
)
def test_csv_in_either_delimiter_and_encoding_is_read(importer, delimiter, encoding):
    rows = [
        ["Фамилия", "Имя", "Отчество", "Телефон", "Адрес проживания"],
        ["Ёлкина", "Алёна", "Сергеевна", "+79123456789", "г. Москва, ул. Арбат, д. 1"],
    ]
    job = importer.confirm(
        importer.check("export.csv", csv_bytes(rows, delimiter=delimiter, encoding=encoding))
    )
    assert job.status == ImportStatus.DONE, job.error
    patient = Patient.objects.get()
    assert (patient.last_name, patient.first_name, patient.middle_name) == (
        "Ёлкина",
        "Алёна",
        "Сергеевна",
    )
    assert patient.actual_address == "г. Москва, ул. Арбат, д. 1"


def test_an_excel_file_with_russian_headers_is_imported(importer):
    female = GenderFactory(name="Женский")
    channel = MarketingChannelFactory(name="Сайт клиники")
    rows = [
        ["Фамилия", "Имя", "Отчество", "Мобильный телефон", "Дата рождения", "Пол", "Канал", "ИНН"],
        # Excel stores a long phone as a number and a date as a date.
        [
            "Орлова",
            "Дарья",
            "Игоревна",
            79123456789,
            datetime.datetime(1992, 7, 1),
            "женский",
            "сайт клиники",
            "",
        ],
        ["Орлов", "Пётр", "", "+7 916 765-43-21", "05.11.1960", "", "Неизвестный канал", ""],
    ]
    job = importer.check("export.xlsx", xlsx_bytes(rows))
    assert (job.new_count, job.invalid_count) == (2, 0), job.preview
    importer.confirm(job)
    daria = Patient.objects.get(last_name="Орлова")
    assert daria.phone == "+79123456789"
    assert daria.birth_date == datetime.date(1992, 7, 1)
    assert daria.gender == female
    assert daria.marketing_channel == channel
    petr = Patient.objects.get(last_name="Орлов")
    assert petr.birth_date == datetime.date(1960, 11, 5)
    assert petr.marketing_channel is None  # an unknown channel is left empty, not invented


def test_the_offered_template_imports_as_is(importer):
    response = importer.client.get(reverse("patients:import-template"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [cell.value for cell in sheet[1]] == imports.TEMPLATE_HEADERS
    job = importer.confirm(importer.check("template.xlsx", response.content))
    assert job.status == ImportStatus.DONE
    assert Patient.objects.get().last_name == "Иванова"


def test_a_row_the_database_refuses_fails_alone_and_the_counts_match_the_cards(importer):
    """Only PostgreSQL refuses this row (a constraint the app does not know, added for the
    test and rolled back with it); the rows around it in the chunk must still be saved."""
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE patients_patient ADD CONSTRAINT test_refuse_nulev "
            "CHECK (last_name <> 'Нулев') NOT VALID"
        )
    rows = [["Фамилия", "Имя", "Телефон"]]
    rows += [[f"Строков{i}", "Иван", f"+7915{i:07d}"] for i in range(20)]
    rows.insert(11, ["Нулев", "Иван", "+79169999999"])
    job = importer.check("export.csv", csv_bytes(rows))
    assert (job.new_count, job.invalid_count) == (21, 0)  # the preview cannot know
    job = importer.confirm(job)
    assert job.status == ImportStatus.DONE
    assert (job.new_count, job.invalid_count) == (20, 1)
    assert [row["row"] for row in job.preview["invalid"]] == [12]
    assert "test_refuse_nulev" in job.preview["invalid"][0]["reason"]
    assert Patient.objects.count() == 20
    assert OutboxEvent.objects.filter(name="patient.imported").count() == 20


# --- Bad files -------------------------------------------------------------------------


def assert_failed_without_changes(job, text: str) -> None:
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert text in job.error
    assert job.new_count == job.update_count == 0
    assert not Patient.objects.exclude(last_name="Старова").exists()
    assert not OutboxEvent.objects.filter(name__startswith="patient.import").exists()


def test_a_file_with_the_wrong_columns_fails_with_the_missing_ones_named(importer, existing):
    rows = [["ФИО", "Телефон", "Дата рождения"], ["Иванов Иван", "+79123456789", "01.01.1980"]]
    job = importer.check("wrong.csv", csv_bytes(rows))
    assert_failed_without_changes(job, "Фамилия, Имя")
    page = importer.client.get(
        reverse("patients:import-detail", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "data-import-error" in page.content.decode()
    assert "The file has no column for: Фамилия, Имя" in page.content.decode()


def test_a_file_of_only_empty_rows_gets_a_clear_error(importer):
    rows = [HEADER, ["", "", "", "", "", "", ""], [" ", "", "", "", "", "", ""]]
    job = importer.check("empty.csv", csv_bytes(rows))
    assert_failed_without_changes(job, "no patient rows")


def test_an_excel_file_of_only_a_header_gets_a_clear_error(importer):
    job = importer.check("empty.xlsx", xlsx_bytes([HEADER, [None] * 7]))
    assert_failed_without_changes(job, "no patient rows")


@pytest.mark.parametrize("name", ["garbage.xlsx", "garbage.csv"])
def test_ten_megabytes_of_random_bytes_fail_clearly_without_a_500(importer, existing, name):
    job = importer.check(name, os.urandom(10 * 1024 * 1024))
    assert_failed_without_changes(job, "could not be read")
    page = importer.client.get(reverse("patients:import-detail", args=[job.pk]))
    assert page.status_code == 200
    assert "data-import-error" in page.content.decode()


def test_text_that_is_not_a_table_fails_clearly(importer):
    job = importer.check("notes.csv", "Просто текст без таблицы\nи ещё строка".encode())
    assert_failed_without_changes(job, "no column for")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("patients.txt", b"a;b", "Upload an Excel .xlsx or a .csv file."),
        ("patients.xls", b"a;b", "Upload an Excel .xlsx or a .csv file."),
        ("patients.csv", b"", "The submitted file is empty."),
    ],
)
def test_the_upload_form_refuses_wrong_files(importer, name, content, message):
    response = importer.client.post(
        URL, {"file": SimpleUploadedFile(name, content)}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not PatientImport.objects.exists()


def test_a_file_over_twenty_megabytes_is_refused(importer):
    big = SimpleUploadedFile("big.csv", b"0" * (20 * 1024 * 1024 + 1))
    response = importer.client.post(URL, {"file": big}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert "larger than 20 MB" in response.content.decode()
    assert not PatientImport.objects.exists()


def test_the_upload_page_lists_recent_imports(admin_client):
    job = PatientImportFactory(original_name="прошлый.csv")
    response = admin_client.get(URL)
    assert response.status_code == 200
    assert "прошлый.csv" in response.content.decode()
    assert reverse("patients:import-detail", args=[job.pk]) in response.content.decode()


# --- Cancel and repeat -----------------------------------------------------------------


def test_cancelling_a_preview_changes_nothing_and_cannot_be_confirmed(importer, existing):
    job = importer.check("old-system.csv", csv_bytes(mixed_rows()))
    response = importer.client.post(reverse("patients:import-cancel", args=[job.pk]))
    assert response.status_code == 302
    assert response.url == URL
    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    job = importer.confirm(job)
    assert job.status == ImportStatus.CANCELLED
    assert Patient.objects.count() == 1


def test_a_finished_import_cannot_be_confirmed_or_cancelled_again(importer, existing):
    job = importer.confirm(importer.check("old-system.csv", csv_bytes(mixed_rows())))
    count = Patient.objects.count()
    importer.client.post(reverse("patients:import-cancel", args=[job.pk]))
    job = importer.confirm(job)
    assert job.status == ImportStatus.DONE
    assert Patient.objects.count() == count


# --- Rights ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("import", "get"),
        ("import", "post"),
        ("import-template", "get"),
        ("import-detail", "get"),
        ("import-confirm", "post"),
        ("import-cancel", "post"),
    ],
)
def test_import_needs_the_import_right(registrar, name, method):
    job = PatientImportFactory()
    client = Client()
    client.force_login(registrar.user)
    url = reverse(
        f"patients:{name}", args=[job.pk] if name.count("-") and "template" not in name else []
    )
    response = getattr(client, method)(url)
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEW


def test_import_sends_an_anonymous_visitor_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("name", ["import-confirm", "import-cancel"])
def test_confirm_and_cancel_are_post_only(admin_client, name):
    job = PatientImportFactory()
    assert admin_client.get(reverse(f"patients:{name}", args=[job.pk])).status_code == 405


# --- Size ------------------------------------------------------------------------------


def test_three_thousand_rows_run_to_the_end_with_progress_after_every_chunk(importer, monkeypatch):
    # 2,000 unchanged cards, 500 changed ones and 500 new: chunks of every kind of row.
    Patient.objects.bulk_create(
        Patient(
            card_number=50_000 + i,
            last_name=f"Импортов{i}",
            first_name="Иван",
            phone=f"+7915{i:07d}",
            email=f"p{i}@mail.ru" if i < 2000 else "",
        )
        for i in range(2500)
    )
    rows = [["Фамилия", "Имя", "Телефон", "Email"]]
    rows += [[f"Импортов{i}", "Иван", f"+7915{i:07d}", f"p{i}@mail.ru"] for i in range(3000)]
    progress: list[int] = []
    record = imports._progress

    def recording(job, **values):
        if "processed_rows" in values:
            progress.append(values["processed_rows"])
        record(job, **values)

    monkeypatch.setattr(imports, "_progress", recording)
    # Delivering 1,000 "imported" events to the timelines is the outbox's business, tested
    # elsewhere; here the eager queue would only make the test slow.
    monkeypatch.setattr(outbox_dispatch_many, "delay", lambda event_ids: None)

    job = importer.check("big.csv", csv_bytes(rows))
    assert job.status == ImportStatus.PREVIEW
    assert (job.new_count, job.update_count, job.skipped_count) == (500, 500, 2000)
    assert job.total_rows == job.processed_rows == 3000
    assert len(job.preview["new"]) == imports.PREVIEW_ROWS  # the page shows a sample
    assert progress == list(range(imports.CHUNK, 3001, imports.CHUNK))

    progress.clear()
    job = importer.confirm(job)
    assert job.status == ImportStatus.DONE
    assert job.processed_rows == job.total_rows == 3000
    assert progress == list(range(imports.CHUNK, 3001, imports.CHUNK))
    assert Patient.objects.count() == 3000
    assert Patient.objects.filter(email="").count() == 0
    numbers = list(
        Patient.objects.filter(card_number__lt=50_000)
        .order_by("card_number")
        .values_list("card_number", flat=True)
    )
    assert numbers == list(range(numbers[0], numbers[0] + 500))
    assert OutboxEvent.objects.filter(name="patient.imported").count() == 500
    assert OutboxEvent.objects.filter(name="patient.import_updated").count() == 500
