"""An import job as a whole: each chunk audits and publishes what it wrote, a stopped job is
seen and resumed (or given up), SNILS and INN are one person's, and the uploaded file does
not outlive the job."""

import datetime
import os
import threading

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.audit import verify_chain
from clinic.models import AuditAction, AuditEntry, OutboxEvent
from clinic.tasks import outbox_dispatch_many
from clinic.tests.factories import GenderFactory
from patients import imports, services
from patients.models import IMPORT_FOLDER, ImportStatus, Patient, PatientImport
from patients.tests.conftest import csv_bytes
from patients.tests.factories import (
    MarketingChannelFactory,
    PatientFactory,
    PatientImportFactory,
    valid_person_inn,
    valid_snils,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

HEADER = ["Фамилия", "Имя", "Телефон", "СНИЛС", "Комментарий"]


def new_rows(count: int, start: int = 0) -> list[list[str]]:
    return [[f"Новиков{i}", "Пётр", f"+7917{i:07d}", "", ""] for i in range(start, start + count)]


class WorkerKilled(BaseException):
    """What the job sees of a killed worker: nothing catches it, the chunk rolls back."""


def kill_at_chunk(monkeypatch, number: int) -> None:
    """The worker dies once, in chunk ``number``, after its rows; a later run goes through."""
    record = imports._record_chunk
    calls = {"n": 0}

    def dying(job, saved):
        calls["n"] += 1
        record(job, saved)
        if calls["n"] == number:
            raise WorkerKilled

    monkeypatch.setattr(imports, "_record_chunk", dying)


def stored(job: PatientImport, media_root) -> bool:
    return bool(job.file.name) and (media_root / job.file.name).exists()


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 2)


@pytest.fixture
def previewed(importer, small_chunks):
    """Five new cards checked and confirmed, the import pass not started yet."""

    def make(rows=None) -> PatientImport:
        job = importer.check("five.csv", csv_bytes([HEADER, *(rows or new_rows(5))]))
        assert job.status == ImportStatus.PREVIEW, job.error
        return services.patient_import_confirm(job=job, by=importer.admin)

    return make


@pytest.fixture
def importer(importer, admin_persona):
    importer.admin = admin_persona.user
    return importer


# --- Every card audited, events with their chunk ---------------------------------------


def test_every_card_an_import_creates_or_changes_is_audited_with_its_values(importer):
    existing = PatientFactory(phone="+79160000001", comment="Аллергия на пенициллин", email="")
    rows = [
        ["Фамилия", "Имя", "Телефон", "Email", "Комментарий", "СНИЛС"],
        [existing.last_name, existing.first_name, "+79160000001", "a@mail.ru", "Здорова", ""],
        ["Новикова", "Мария", "+79123456789", "", "", valid_snils()],
    ]
    job = importer.confirm(importer.check("cards.csv", csv_bytes(rows)))
    assert job.status == ImportStatus.DONE
    change = AuditEntry.objects.get(patient_id=existing.pk, action=AuditAction.UPDATE)
    assert change.actor == importer.admin
    assert change.changes == {
        "email": ["", "a@mail.ru"],
        "comment": ["Аллергия на пенициллин", "Здорова"],
    }
    new = Patient.objects.get(phone="+79123456789")
    created = AuditEntry.objects.get(patient_id=new.pk, action=AuditAction.CREATE)
    assert created.changes["last_name"] == [None, "Новикова"]
    assert created.changes["snils"] == [None, valid_snils()]
    assert created.changes["card_number"] == [None, new.card_number]
    assert verify_chain()[1] is None
    # "Who opened and changed this card" shows the import's change.
    page = importer.client.get(reverse("clinic:audit"), {"patient_id": existing.pk})
    assert "Аллергия на пенициллин" in page.content.decode()
    event = OutboxEvent.objects.get(name="patient.import_updated")
    assert event.payload["values"] == {"email": "a@mail.ru", "comment": "Здорова"}


def test_each_chunk_commits_its_cards_audit_entries_and_events_or_nothing(previewed, monkeypatch):
    job = previewed()
    kill_at_chunk(monkeypatch, 2)
    with pytest.raises(WorkerKilled):
        imports.run_import(job.pk, dry_run=False)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.new_count) == (ImportStatus.IMPORTING, 2, 2)
    saved = set(Patient.objects.values_list("pk", flat=True))
    assert len(saved) == 2  # the first chunk; the second rolled back whole
    audited = AuditEntry.objects.filter(action=AuditAction.CREATE, content_type__model="patient")
    assert set(audited.values_list("patient_id", flat=True)) == saved
    published = OutboxEvent.objects.filter(name="patient.imported")
    assert {int(event.aggregate_id) for event in published} == saved


# --- Stuck jobs --------------------------------------------------------------------------


def detail(client, job):
    return client.get(reverse("patients:import-detail", args=[job.pk]), HTTP_HX_REQUEST="true")


def post(importer, name: str, job):
    with importer.capture(execute=True):
        return importer.client.post(reverse(f"patients:{name}", args=[job.pk]))


@pytest.fixture
def importer_with_capture(importer, django_capture_on_commit_callbacks):
    importer.capture = django_capture_on_commit_callbacks
    return importer


def test_a_stopped_import_shows_as_stuck_and_resumes_after_its_last_chunk(
    importer_with_capture, previewed, monkeypatch, settings, media_root
):
    importer = importer_with_capture
    settings.PATIENT_IMPORT_STUCK_MINUTES = 10
    job = previewed()
    kill_at_chunk(monkeypatch, 2)
    with pytest.raises(WorkerKilled):
        imports.run_import(job.pk, dry_run=False)
    assert "data-import-stuck" not in detail(importer.client, job).content.decode()
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=11)):
        page = detail(importer.client, job).content.decode()
        assert "data-import-stuck" in page and "data-import-resume" in page
        response = post(importer, "import-resume", job)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.error
    assert (job.processed_rows, job.total_rows, job.new_count) == (5, 5, 5)
    phones = list(Patient.objects.values_list("phone", flat=True))
    assert sorted(phones) == sorted({row[2] for row in new_rows(5)})  # nobody twice
    assert (
        AuditEntry.objects.filter(action=AuditAction.CREATE, patient_id__isnull=False).count() == 5
    )
    assert OutboxEvent.objects.filter(name="patient.imported").count() == 5
    resumed = AuditEntry.objects.filter(
        object_id=str(job.pk), changes__has_key="resumed_after_rows"
    )
    assert resumed.get().changes["resumed_after_rows"] == [None, 2]
    assert not stored(job, media_root)


def test_a_check_that_never_started_can_be_resumed(importer_with_capture, small_chunks):
    importer = importer_with_capture
    # The queue was down when the upload committed: the job never ran.
    job = PatientImport.objects.create(
        file=PatientImportFactory.build().file,
        original_name="patients.csv",
        created_by=importer.admin,
        status=ImportStatus.VALIDATING,
    )
    with open(job.file.path, "wb") as handle:
        handle.write(csv_bytes([HEADER, *new_rows(3)]))
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=1)):
        post(importer, "import-resume", job)
    job.refresh_from_db()
    assert (job.status, job.new_count) == (ImportStatus.PREVIEW, 3)


def test_a_stuck_import_can_be_marked_failed_keeping_what_it_imported(
    importer_with_capture, previewed, monkeypatch, media_root
):
    importer = importer_with_capture
    job = previewed()
    kill_at_chunk(monkeypatch, 2)
    with pytest.raises(WorkerKilled):
        imports.run_import(job.pk, dry_run=False)
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=1)):
        response = post(importer, "import-give-up", job)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.error == _(
        "Stopped after %(done)s of %(total)s rows and marked failed by %(user)s."
    ) % {"done": 2, "total": 5, "user": importer.admin}
    assert Patient.objects.count() == 2
    entry = AuditEntry.objects.filter(object_id=str(job.pk)).latest("id")
    assert (entry.actor, entry.changes["status"]) == (importer.admin, ["importing", "failed"])
    assert not stored(job, media_root)
    # A failed job does not run again.
    imports.run_import(job.pk, dry_run=False)
    assert Patient.objects.count() == 2


@pytest.mark.parametrize("name", ["import-resume", "import-give-up"])
def test_a_job_that_is_making_progress_is_neither_resumed_nor_failed(importer, name):
    job = PatientImportFactory(
        status=ImportStatus.IMPORTING, total_rows=10, processed_rows=4, progress_at=timezone.now()
    )
    response = importer.client.post(reverse(f"patients:{name}", args=[job.pk]), follow=True)
    assert _("This import is not stuck.") in [str(m) for m in response.context["messages"]]
    job.refresh_from_db()
    assert (job.status, job.processed_rows) == (ImportStatus.IMPORTING, 4)


@pytest.mark.parametrize("name", ["import-resume", "import-give-up"])
def test_resume_and_give_up_need_the_import_right_and_post(registrar, admin_client, name):
    job = PatientImportFactory(status=ImportStatus.IMPORTING)
    url = reverse(f"patients:{name}", args=[job.pk])
    registrar_client = Client()
    registrar_client.force_login(registrar.user)
    assert registrar_client.post(url).status_code == 403
    assert admin_client.get(url).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_job_at_once_import_every_row_once(monkeypatch, admin_persona, settings):
    """A resumed job whose first worker was only slow: the chunks are claimed under the
    job's row lock, so the second run waits for the first's chunk, then stops."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises whole transactions")
    monkeypatch.setattr(imports, "CHUNK", 3)
    monkeypatch.setattr(outbox_dispatch_many, "delay", lambda event_ids: None)
    job = PatientImport.objects.create(
        file=PatientImportFactory.build().file,
        original_name="patients.csv",
        created_by=admin_persona.user,
        status=ImportStatus.IMPORTING,
    )
    with open(job.file.path, "wb") as handle:
        handle.write(csv_bytes([HEADER, *new_rows(12)]))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            imports.run_import(job.pk, dry_run=False)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    job.refresh_from_db()
    assert (job.status, job.new_count) == (ImportStatus.DONE, 12)
    assert Patient.objects.count() == 12
    assert OutboxEvent.objects.filter(name="patient.imported").count() == 12


# --- One person, one card ----------------------------------------------------------------


def test_a_row_with_the_snils_or_inn_of_another_card_is_invalid_and_names_the_card(importer):
    snils, inn = valid_snils("112233445"), valid_person_inn()
    owner = PatientFactory(last_name="Первова", snils=snils, inn=inn)
    other = PatientFactory(last_name="Другая", phone="+79160000002")
    fresh = valid_snils("223344556")
    rows = [
        ["Фамилия", "Имя", "Телефон", "СНИЛС", "ИНН"],
        ["Новая", "Анна", "+79123456780", snils, ""],  # a new card with the owner's SNILS
        ["Другая", "Ирина", "+79160000002", "", inn],  # another card, the owner's INN
        ["Двойнова", "Ольга", "+79123456781", fresh, ""],
        ["Тройнова", "Ольга", "+79123456782", fresh, ""],  # the file's own repeat
        [owner.last_name, owner.first_name, owner.phone, snils, inn],  # its own: fine
    ]
    job = importer.check("documents.csv", csv_bytes(rows))
    reasons = {row["row"]: row["reason"] for row in job.preview["invalid"]}
    assert sorted(reasons) == [2, 3, 5]
    assert f"№ {owner.card_number}" in reasons[2] and "SNILS" in reasons[2]
    assert f"№ {owner.card_number}" in reasons[3] and "INN" in reasons[3]
    assert "row 4" in reasons[5]
    importer.confirm(job)
    assert Patient.objects.filter(snils=snils).count() == 1
    assert Patient.objects.filter(snils=fresh).count() == 1
    other.refresh_from_db()
    assert other.inn == ""


# --- The uploaded file -------------------------------------------------------------------


def test_the_file_is_kept_for_the_preview_and_deleted_once_imported(importer, media_root):
    job = importer.check("five.csv", csv_bytes([HEADER, *new_rows(5)]))
    assert stored(job, media_root)
    name = job.file.name
    job = importer.confirm(job)
    assert job.status == ImportStatus.DONE
    assert job.file.name == "" and not (media_root / name).exists()
    page = importer.client.get(reverse("patients:import-detail", args=[job.pk]))
    assert "data-import-file" not in page.content.decode()


def test_the_file_is_deleted_when_the_check_fails(importer, media_root):
    job = importer.check("wrong.csv", csv_bytes([["ФИО"], ["Иванов Иван"]]))
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.file.name == ""
    assert list((media_root / IMPORT_FOLDER).iterdir()) == []


def test_the_file_is_deleted_when_the_import_is_cancelled(
    importer, media_root, django_capture_on_commit_callbacks
):
    job = importer.check("five.csv", csv_bytes([HEADER, *new_rows(5)]))
    with django_capture_on_commit_callbacks(execute=True):
        importer.client.post(reverse("patients:import-cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    assert list((media_root / IMPORT_FOLDER).iterdir()) == []


def test_the_preview_page_offers_the_file_to_those_who_may_import(importer):
    job = importer.check("five.csv", csv_bytes([HEADER, *new_rows(5)]))
    page = importer.client.get(reverse("patients:import-detail", args=[job.pk]))
    link = reverse("clinic:file", args=["patient-import", job.pk])
    assert f'href="{link}"' in page.content.decode()


def test_the_sweep_keeps_no_file_past_its_days(
    settings, media_root, django_capture_on_commit_callbacks
):
    settings.PATIENT_IMPORT_KEEP_FILES_DAYS = 7
    old = timezone.now() - datetime.timedelta(days=8)
    expired = PatientImportFactory(status=ImportStatus.PREVIEW)
    PatientImport.objects.filter(pk=expired.pk).update(created_at=old, progress_at=old)
    recent = PatientImportFactory(status=ImportStatus.PREVIEW)
    leftover = PatientImportFactory(status=ImportStatus.DONE)  # its deletion had failed
    folder = media_root / IMPORT_FOLDER
    stray_old, stray_new = folder / ("0" * 32), folder / ("1" * 32 + ".csv")
    stray_old.write_text("left by a rolled-back upload")
    stray_new.write_text("an upload in progress")
    os.utime(stray_old, (old.timestamp(), old.timestamp()))
    with django_capture_on_commit_callbacks(execute=True):
        services.patient_imports_sweep()
    for job in (expired, recent, leftover):
        job.refresh_from_db()
    assert expired.status == ImportStatus.FAILED
    assert expired.error == _(
        "Not finished within %(days)s days; the file was deleted. Upload it again."
    ) % {"days": 7}
    assert expired.file.name == "" and leftover.file.name == ""
    assert recent.status == ImportStatus.PREVIEW and stored(recent, media_root)
    assert not stray_old.exists() and stray_new.exists()


def test_the_sweep_is_on_the_beat_schedule(settings):
    from patients.tasks import patient_imports_sweep

    entry = settings.CELERY_BEAT_SCHEDULE["patient-imports-sweep"]
    assert entry["task"] == patient_imports_sweep.name
    assert entry["schedule"] <= 3600


# --- Cost ----------------------------------------------------------------------------------


def test_the_import_pass_costs_a_bounded_number_of_queries_per_row(importer):
    """40 new cards and 10 changed ones in one chunk. Per row: its savepoint (2 statements)
    and insert or update, and its audit entry (a savepoint of 2, the chain's lock, the last
    hash, the insert): 8. The events are one insert per chunk and kind."""
    for i in range(10):
        PatientFactory(phone=f"+7916{i:07d}", comment="")
    rows = [HEADER, *new_rows(40)]
    rows += [[f"Тестов{i}", "Иван", f"+7916{i:07d}", "", "Изменён"] for i in range(10)]
    job = importer.check("fifty.csv", csv_bytes(rows))
    job = services.patient_import_confirm(job=job, by=importer.admin)
    with CaptureQueriesContext(connection) as queries:
        imports.run_import(job.pk, dry_run=False)
    job.refresh_from_db()
    assert (job.status, job.new_count, job.update_count) == (ImportStatus.DONE, 40, 10)
    assert len(queries) <= 50 * 8 + 30, len(queries)
    assert OutboxEvent.objects.filter(name__startswith="patient.import").count() == 50


def test_the_check_costs_no_query_per_row(importer):
    """New rows and rows of existing cards (whose foreign keys Django would check one query
    each): the check reads the cards once per run, never per row."""
    channel, gender = MarketingChannelFactory(), GenderFactory()
    for i in range(100):
        PatientFactory(phone=f"+7916{i:07d}", marketing_channel=channel, gender=gender)

    def check(count: int) -> int:
        rows = [HEADER, *new_rows(count)]
        rows += [[f"Тестов{i}", "Иван", f"+7916{i:07d}", "", "Изменён"] for i in range(count)]
        job = importer.check(f"{count}.csv", csv_bytes(rows))
        assert (job.new_count, job.update_count) == (count, count)
        job.status, job.processed_rows = ImportStatus.VALIDATING, 0
        job.save()
        with CaptureQueriesContext(connection) as queries:
            imports.run_import(job.pk, dry_run=True)
        return len(queries)

    assert check(100) == check(5)
