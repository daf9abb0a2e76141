"""Uploaded files: every kind served through its object, to the roles its right covers, under
random stored names; nothing served by a path under MEDIA_ROOT."""

import re

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils.http import content_disposition_header

from clinic import demo, files, testing
from clinic.models import AuditAction, AuditEntry, Organization
from clinic.modules import permission_codename
from clinic.testing_urls import sample_png
from clinic.tests.factories import user_with_rights
from patients.models import Patient, PatientImport
from patients.tests.factories import PatientFactory, PatientImportFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("account_login")
IMPORT_CONTENT = "Фамилия;Имя;Телефон\nИванова;Мария;+79123456789\n".encode()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def logo_sample() -> tuple[Organization, bytes]:
    organization = Organization.objects.get_or_create(pk=1)[0]
    organization.logo.save("Логотип клиники.png", ContentFile(sample_png()))
    Organization.forget_cached()
    return organization, sample_png()


def import_sample() -> tuple[PatientImport, bytes]:
    job = PatientImportFactory(
        file=ContentFile(IMPORT_CONTENT, name="Пациенты клиники.csv"),
        original_name="Пациенты клиники.csv",
    )
    return job, IMPORT_CONTENT


def printed_document_sample():
    from documents.tests.factories import PDF_SAMPLE, printed_copy

    return printed_copy(PatientFactory()), PDF_SAMPLE


def document_scan_sample():
    from documents.tests.factories import printed_copy, signed_scan

    scan = signed_scan(printed_copy(PatientFactory()), sample_png(), "Скан договора.png")
    return scan, sample_png()


def clinical_image_sample():
    from clinic.tests.factories import BranchFactory
    from clinical.tests.factories import clinical_image, png_bytes

    return clinical_image(PatientFactory(), BranchFactory()), png_bytes()


def clinical_image_preview_sample():
    from clinic.tests.factories import BranchFactory
    from clinical.tests.factories import clinical_image, jpeg_bytes

    return clinical_image(PatientFactory(), BranchFactory()), jpeg_bytes((32, 24))


# One stored file of each registered kind (a new kind adds its sample here).
SAMPLES = {
    "organization-logo": logo_sample,
    "patient-import": import_sample,
    "printed-document": printed_document_sample,
    "document-scan": document_scan_sample,
    "clinical-image": clinical_image_sample,
    "clinical-image-preview": clinical_image_preview_sample,
}


def body(response) -> bytes:
    return b"".join(response.streaming_content)


# --- The registry ------------------------------------------------------------------------


def test_every_file_field_of_the_project_is_a_registered_kind_with_random_names():
    file_fields = {
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.FileField)
    }
    registered = {(kind.model, kind.field) for kind in files.kinds()}
    assert file_fields == registered
    for model, name in file_fields:
        assert isinstance(model._meta.get_field(name).upload_to, files.RandomName)


def test_every_registered_kind_has_a_sample_here():
    assert set(SAMPLES) == {kind.key for kind in files.kinds()}


def test_a_field_that_keeps_the_uploaded_name_cannot_be_registered(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="not a file field"):
        files.register(files.FileKind("name", Organization, "name"))
    monkeypatch.setattr(Organization._meta.get_field("logo"), "upload_to", "organization/")
    with pytest.raises(ImproperlyConfigured, match="RandomName"):
        files.register(files.FileKind("plain-logo", Organization, "logo"))
    assert files.get_kind("plain-logo") is None


def test_uploads_are_stored_under_random_names_without_the_users_file_name():
    upload_to = files.RandomName("imports/patients")
    first = upload_to(None, "Иванова Мария — пациенты.CSV")
    second = upload_to(None, "Иванова Мария — пациенты.CSV")
    assert re.fullmatch(r"imports/patients/[0-9a-f]{32}\.csv", first)
    assert first != second
    assert re.fullmatch(r"imports/patients/[0-9a-f]{32}", upload_to(None, "script.ph%p"))
    job, _content = import_sample()
    assert re.fullmatch(r"imports/patients/[0-9a-f]{32}\.csv", job.file.name)


# --- Every kind, every role --------------------------------------------------------------


@pytest.mark.parametrize("role", [*testing.ROLES, "anonymous"])
def test_each_role_gets_the_files_its_rights_allow_and_no_media_path(role, client, branch):
    granted: set[str] = set()
    if role != "anonymous":
        client.force_login(testing.make_persona(role, branch).user)
        granted = set(demo.ROLE_GROUPS[role][1])
    failures = []
    for kind in files.kinds():
        obj, content = SAMPLES[kind.key]()
        stored = getattr(obj, kind.field).name
        response = client.get(files.url_for(obj, kind.field))
        if role == "anonymous":
            ok = response.status_code == 302 and response.url.startswith(LOGIN)
        elif kind.right is None or permission_codename(*kind.right) in granted:
            ok = response.status_code == 200 and body(response) == content
        else:
            ok = response.status_code == 403
        if not ok:
            failures.append(f"{kind.key}: {response.status_code}")
        # The stored name, even known, is no way in.
        guessed = client.get(f"/media/{stored}")
        if guessed.status_code != 404:
            failures.append(f"/media/{stored}: {guessed.status_code}")
    assert failures == []


def test_a_guessed_media_path_serves_nothing(doctor_client, media_root):
    """The report: the import file of 100,000 patients downloaded for the doctor."""
    (media_root / "imports" / "patients").mkdir(parents=True)
    (media_root / "imports" / "patients" / "patients.csv").write_bytes(IMPORT_CONTENT)
    PatientImport.objects.create(file="imports/patients/patients.csv", original_name="patients.csv")
    for path in ("/media/imports/patients/patients.csv", "/media/imports/patients/"):
        assert doctor_client.get(path).status_code == 404


# --- The response ------------------------------------------------------------------------


def test_an_import_file_downloads_as_an_attachment_under_its_own_name_and_is_audited(
    admin_client, admin_persona
):
    job, content = import_sample()
    response = admin_client.get(files.url_for(job), REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 200
    assert body(response) == content
    assert response["Content-Disposition"] == content_disposition_header(
        True, "Пациенты клиники.csv"
    )
    assert response["Content-Type"].startswith("text/csv")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert "sandbox" in response["Content-Security-Policy"]
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor, entry.object_id) == (
        AuditAction.VIEW,
        admin_persona.user,
        str(job.pk),
    )
    assert entry.object_repr == "patient-import: Пациенты клиники.csv"
    assert entry.ip_address == "10.0.0.7"


def test_the_logo_is_an_inline_image_a_browser_may_keep_for_an_hour(client, branch):
    client.force_login(testing.make_persona("doctor", branch).user)
    organization, _content = logo_sample()
    before = AuditEntry.objects.count()
    response = client.get(files.url_for(organization))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["Cache-Control"] == "private, max-age=3600"
    assert AuditEntry.objects.count() == before  # every page shows it: not worth an entry


def test_a_hostile_original_name_is_made_safe(admin_client):
    job = PatientImportFactory(original_name='../../etc/pa"ss\r\nwd.csv')
    response = admin_client.get(files.url_for(job))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="passwd.csv"'


def test_html_in_an_inline_kind_is_never_served_as_a_page(admin_client, media_root):
    organization = Organization.objects.get_or_create(pk=1)[0]
    organization.logo.save("logo.html", ContentFile(b"<script>alert(1)</script>"))
    Organization.forget_cached()
    response = admin_client.get(files.url_for(organization))
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"


def test_unknown_kinds_objects_and_missing_files_are_not_found(admin_client, media_root):
    job, _content = import_sample()
    emptied = PatientImportFactory(file="")
    assert admin_client.get("/files/nothing/1/").status_code == 404
    assert admin_client.get(f"/files/patient-import/{job.pk + 1000}/").status_code == 404
    assert admin_client.get(files.url_for(emptied)).status_code == 404
    (media_root / job.file.name).unlink()
    assert admin_client.get(files.url_for(job)).status_code == 404
    assert admin_client.get("/files/patient-import/..%2f..%2fsecret/").status_code == 404


def test_the_download_is_get_only_for_signed_in_users(client):
    job, _content = import_sample()
    response = client.get(files.url_for(job))
    assert response.status_code == 302 and response.url.startswith(LOGIN)


@pytest.fixture
def card_file_kind():
    """A kind the way X-rays will register: the card's right, the card's scope, the card's
    audit. Tried on the import model, with the job's creator standing in for the card."""
    kind = files.register(
        files.FileKind(
            "test-card-file",
            PatientImport,
            "file",
            right=("patients", "view"),
            objects=lambda user: PatientImport.objects.filter(created_by=user),
            patient_of=lambda job: Patient.objects.get(last_name=job.original_name).pk,
        )
    )
    yield kind
    files._kinds.pop(kind.key)


def test_a_kind_scoped_to_its_objects_hides_the_others_and_audits_under_the_patient(
    card_file_kind, branch
):
    doctor = testing.make_persona("doctor", branch)
    accountant = testing.make_persona("accountant", branch)
    patient = PatientFactory(last_name="Снимкова")
    own = PatientImportFactory(created_by=doctor.user, original_name="Снимкова")
    other = PatientImportFactory(created_by=accountant.user, original_name="Снимкова")
    client = Client()
    client.force_login(doctor.user)
    assert client.get(f"/files/test-card-file/{own.pk}/").status_code == 200
    assert AuditEntry.objects.latest("id").patient_id == patient.pk
    assert client.get(f"/files/test-card-file/{other.pk}/").status_code == 404
    without_the_right = Client()
    without_the_right.force_login(user_with_rights("home_view", branch=branch))
    assert without_the_right.get(f"/files/test-card-file/{own.pk}/").status_code == 403


def test_discarding_deletes_the_file_after_commit_and_empties_the_field(
    media_root, django_capture_on_commit_callbacks
):
    job, _content = import_sample()
    stored = media_root / job.file.name
    with django_capture_on_commit_callbacks(execute=True):
        files.discard(job, "file")
        assert stored.exists()  # not before the transaction commits
    assert not stored.exists()
    job.refresh_from_db()
    assert job.file.name == ""
