"""Fixtures of the patients tests (the personas are in the root conftest.py)."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from clinic.tests.factories import user_with_rights
from patients.models import ImportStatus, PatientImport

IMPORT_URL = reverse("patients:import")


@pytest.fixture
def outsider_client(client, branch):
    """A signed-in employee without any right on the patients module."""
    client.force_login(user_with_rights("home_view", username="outsider", branch=branch))
    return client


@pytest.fixture
def media_root(settings, tmp_path):
    """Uploads (import files) go to a temporary folder, not the checkout's media/."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def csv_bytes(rows, *, delimiter=";", encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def importer(admin_client, django_capture_on_commit_callbacks):
    """Upload and confirm the way the pages do, running the background job on commit."""

    class Importer:
        client = admin_client

        def upload(self, name: str, content: bytes):
            with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
                response = self.client.post(
                    IMPORT_URL,
                    {"file": SimpleUploadedFile(name, content)},
                    HTTP_ACCEPT_LANGUAGE="en",
                )
            return response

        def check(self, name: str, content: bytes) -> PatientImport:
            response = self.upload(name, content)
            assert response.status_code == 302, response.context and response.context["form"].errors
            job = PatientImport.objects.latest("id")
            assert response.url == reverse("patients:import-detail", args=[job.pk])
            return job

        def confirm(self, job: PatientImport) -> PatientImport:
            url = reverse("patients:import-confirm", args=[job.pk])
            with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
                response = self.client.post(url, HTTP_ACCEPT_LANGUAGE="en")
            assert response.status_code == 302
            job.refresh_from_db()
            assert job.status != ImportStatus.FAILED, job.error
            return job

    return Importer()
