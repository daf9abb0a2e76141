"""The initial sync against the fake: the dry run, then the run, one write per 50 patients
and a fixed number of queries per batch (bench/amocrm_sync.py measures it at 100,000)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.amocrm import initial
from integrations.amocrm.client import AmoClient
from integrations.amocrm.config import CONTACT, SYSTEM
from integrations.models import ExternalLink, SyncJobStatus, SyncLogEntry
from patients.models import Patient

pytestmark = pytest.mark.django_db

PATIENTS = 120  # three batches: 50, 50, 20


def _existing_patients(count: int) -> list[Patient]:
    """Cards that were there before amoCRM was connected (no events, nothing queued)."""
    return Patient.objects.bulk_create(
        Patient(
            card_number=9000 + number,
            last_name="Старожилова",
            first_name="Анна",
            middle_name="Петровна",
            phone=f"+7916{1000000 + number:07d}",
            birth_date=datetime.date(1980, 1, 1) + datetime.timedelta(days=number),
        )
        for number in range(count)
    )


def test_the_initial_sync_makes_one_contact_per_patient_in_one_write_per_batch(amo):
    patients = _existing_patients(PATIENTS)
    job = initial.preview_start(amo.connection, by=None)
    initial.run(job.pk)
    job.refresh_from_db()
    assert job.preview["to_create"] == PATIENTS
    assert amo.fake.contacts == {}  # the dry run writes nothing

    job = initial.job_start(job, by=None)
    started = len(amo.fake.journal)
    with CaptureQueriesContext(connection) as queries:
        initial.run(job.pk)
    job.refresh_from_db()

    assert job.status == SyncJobStatus.DONE
    assert (job.created, job.failed) == (PATIENTS, 0)
    writes = [r for r in amo.fake.journal[started:] if r.method == "POST"]
    assert len(writes) == 3
    links = dict(
        ExternalLink.objects.filter(system=SYSTEM, external_type=CONTACT).values_list(
            "object_id", "external_id"
        )
    )
    assert set(links) == {str(p.pk) for p in patients}
    assert {int(contact_id) for contact_id in links.values()} == set(amo.fake.contacts)
    for patient in patients:
        contact = amo.fake.contacts[int(links[str(patient.pk)])]
        assert amo.fake.contact_field_value(contact, "MIS_ID") == str(patient.card_number)
    assert SyncLogEntry.objects.filter(action="contact.create").count() == PATIENTS
    # A batch's links and log lines are written together: the queries do not grow with the
    # batch (they were two per patient: 275 for this run).
    # Twelve a batch (its patients, their phones, their links, the two inserts in a
    # savepoint, the job's progress...), plus the index, the phases and the end.
    assert len(queries) <= 3 * 12 + 12


def test_the_client_keeps_a_margin_under_amocrms_seven_requests_a_second(amo):
    with AmoClient(amo.connection) as client:
        assert client.limiter.limit == 1000  # the tests' connection
        assert client.limiter.window_ms == 1050
