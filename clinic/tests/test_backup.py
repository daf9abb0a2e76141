"""scripts/backup and scripts/restore: a backup restores into a fresh PostgreSQL database with
its uploads and audit anchor, and the restored audit chain verifies."""

import os
import shutil
import subprocess
import uuid

import psycopg
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection

from clinic import services
from clinic.models import AuditEntry, Organization
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="backups are of PostgreSQL databases"
)

ROOT = settings.BASE_DIR
# A 1x1 transparent PNG: an upload the organization form would accept.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def database_url(name: str) -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    )


def admin_connection() -> psycopg.Connection:
    return psycopg.connect(
        database_url("postgres").replace("postgres://", "postgresql://"), autocommit=True
    )


def run(script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / script), *args],
        cwd=ROOT,
        # The test's own environment (keys, settings) with the paths of this installation.
        env={**os.environ, "LOG_LEVEL": "WARNING", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def fresh_database():
    name = f"odonta_restore_{uuid.uuid4().hex[:12]}"
    with admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_a_fresh_database_and_its_audit_chain_verifies(
    tmp_path, settings, admin_persona, fresh_database
):
    source_media = tmp_path / "media"
    source_anchor = tmp_path / "anchors" / "audit-anchors.jsonl"
    source_anchor.parent.mkdir()
    settings.MEDIA_ROOT = source_media
    settings.AUDIT_ANCHOR_PATH = source_anchor
    user = admin_persona.user
    # Audited writes, a patient, and an upload the database refers to.
    services.organization_update(
        by=user, data={"name": "Клиника «Улыбка»", "logo": SimpleUploadedFile("logo.png", PNG)}
    )
    services.branch_create(by=user, data={"name": "Восточный филиал"})
    patient = PatientFactory(last_name="Восстановленная")
    logo = Organization.objects.get(pk=1).logo.name
    entries = AuditEntry.objects.count()
    assert entries >= 2 and (source_media / logo).read_bytes() == PNG
    call_command("audit_anchor")  # the head, anchored outside the database

    backups = tmp_path / "backups"
    made = run(
        "backup",
        str(backups),
        DATABASE_URL=database_url(connection.settings_dict["NAME"]),
        MEDIA_ROOT=str(source_media),
        ODONTA_AUDIT_ANCHOR_PATH=str(source_anchor),
    )
    assert made.returncode == 0, made.stderr
    backup = made.stdout.strip().splitlines()[-1]
    assert sorted(os.listdir(backup)) == [
        "MANIFEST",
        "SHA256SUMS",
        "audit-anchor",
        "database.dump",
        "media.tar.gz",
    ]
    assert oct(os.stat(backup).st_mode & 0o777) == "0o700"  # patient data: owner only

    restored_media = tmp_path / "restored" / "media"
    restored_anchor = tmp_path / "restored" / "anchors.jsonl"
    restore_env = {
        "DATABASE_URL": database_url(fresh_database),
        "MEDIA_ROOT": str(restored_media),
        "ODONTA_AUDIT_ANCHOR_PATH": str(restored_anchor),
    }
    restored = run("restore", backup, **restore_env)
    assert restored.returncode == 0, restored.stderr + restored.stdout
    assert f"The audit chain is intact: {entries} entries; matches the anchor" in restored.stdout

    # audit_verify on its own, against the restored database.
    verified = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "audit_verify"],
        cwd=ROOT,
        env={**os.environ, **restore_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stderr
    assert f"intact: {entries} entries; matches the anchor" in verified.stdout

    # The data and the uploaded file came back.
    with psycopg.connect(restore_env["DATABASE_URL"].replace("postgres://", "postgresql://")) as db:
        assert db.execute(
            "SELECT last_name FROM patients_patient WHERE id = %s", [patient.pk]
        ).fetchone() == ("Восстановленная",)
        assert db.execute("SELECT logo FROM clinic_organization").fetchone() == (logo,)
        assert db.execute("SELECT count(*) FROM clinic_auditentry").fetchone() == (entries,)
    assert (restored_media / logo).read_bytes() == PNG
    assert restored_anchor.read_bytes() == source_anchor.read_bytes()

    # A second restore into the now used database is refused, and so is a damaged backup.
    shutil.rmtree(restored_media)
    restored_anchor.unlink()
    again = run("restore", backup, **restore_env)
    assert again.returncode != 0
    assert "restore into a fresh, empty database" in again.stderr
    with open(os.path.join(backup, "media.tar.gz"), "ab") as damaged:
        damaged.write(b"x")
    broken = run("restore", backup, **restore_env)
    assert broken.returncode != 0
    assert "checksums do not match" in broken.stderr


def test_backup_refuses_a_database_that_is_not_postgresql(tmp_path):
    made = run("backup", str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert made.returncode != 0
    assert "Backups need PostgreSQL" in made.stderr
    assert os.listdir(tmp_path) == []
