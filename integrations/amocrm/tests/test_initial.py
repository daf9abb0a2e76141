"""The initial sync: the dry run's counts, the run in chunks, pause and resume, the page."""

import datetime

import pytest
from django.urls import reverse

from integrations.amocrm import initial
from integrations.amocrm.config import CONTACT, LEAD, SYSTEM
from integrations.models import ExternalLink, SyncDecision, SyncJob
from patients.tests.factories import PatientFactory

from .helpers import book

pytestmark = pytest.mark.django_db


@pytest.fixture
def existing(amo, desk):
    """Twelve patients (two of them a family on one phone), three future visits, and an
    amoCRM account that already has two of the patients and the family's phone."""
    patients = [PatientFactory(phone=f"+7916555{i:04d}") for i in range(10)]
    family = [PatientFactory(phone="+79169990000"), PatientFactory(phone="+79169990000")]
    visits = [book(desk, patients[i], hour=9 + i) for i in range(3)]
    amo.fake.ui_add_contact("Уже есть", phone="8 916 555 0001")
    amo.fake.ui_add_contact("Тоже есть", phone=patients[2].phone)
    amo.fake.ui_add_contact("Семья", phone="+79169990000")
    amo.fake.deliver_webhooks(post=lambda *args: 200)  # amoCRM's own noise: not ours yet
    return {"patients": patients, "family": family, "visits": visits}


def run_job(amo, *, by=None) -> SyncJob:
    job = initial.preview_start(amo.connection, by=by)
    initial.run(job.pk)
    job.refresh_from_db()
    return job


def test_the_dry_run_counts_and_writes_nothing(amo, existing):
    writes_before = [r for r in amo.fake.journal if r.method in ("POST", "PATCH")]
    job = run_job(amo)
    assert job.preview == {
        "patients": 12,
        "already_linked": 0,
        "to_link": 2,
        "to_create": 8,
        "decisions": 2,
        "visits": 3,
        "contacts_in_amocrm": 3,
        "ready": True,
    }
    assert [r for r in amo.fake.journal if r.method in ("POST", "PATCH")] == writes_before
    assert not ExternalLink.objects.exists()


def test_the_run_links_creates_and_leaves_the_family_for_a_decision(amo, existing):
    job = run_job(amo)
    job = initial.job_start(job, by=None)
    assert job.total == 15
    initial.run(job.pk)
    job.refresh_from_db()
    assert job.status == "done" and job.processed == 15 and job.progress_percent == 100
    assert (job.created, job.linked, job.decisions, job.failed) == (8 + 3, 2, 2, 0)
    assert ExternalLink.objects.filter(system=SYSTEM, external_type=CONTACT).count() == 10
    assert ExternalLink.objects.filter(system=SYSTEM, external_type=LEAD).count() == 3
    assert len(amo.fake.contacts) == 3 + 8 and len(amo.fake.leads) == 3
    assert SyncDecision.objects.filter(status="open").count() == 1
    # Running it again changes nothing: no request writes anything twice.
    writes = len([r for r in amo.fake.journal if r.method in ("POST", "PATCH")])
    again = initial.job_start(run_job(amo), by=None)
    initial.run(again.pk)
    assert len([r for r in amo.fake.journal if r.method in ("POST", "PATCH")]) == writes


def test_a_paused_run_stops_between_chunks_and_resumes_where_it_stopped(amo, existing, monkeypatch):
    amo.connection.settings["batch_size"] = 5
    amo.connection.save(update_fields=["settings"])
    job = initial.job_start(run_job(amo), by=None)
    real_push = initial.outbound.push_patients
    calls = []

    def push_then_pause(*args, **kwargs):
        calls.append(1)
        result = real_push(*args, **kwargs)
        initial.job_pause(job, by=None)
        return result

    monkeypatch.setattr(initial.outbound, "push_patients", push_then_pause)
    initial.run(job.pk)
    job.refresh_from_db()
    assert job.status == "paused" and job.processed == 5 and len(calls) == 1
    monkeypatch.setattr(initial.outbound, "push_patients", real_push)
    job = initial.job_start(job, by=None)
    initial.run(job.pk)
    job.refresh_from_db()
    assert job.status == "done" and job.processed == 15
    assert len(amo.fake.contacts) == 11  # nobody twice across the pause


def test_a_stalled_run_is_picked_up_again(amo, existing, monkeypatch):
    job = initial.job_start(run_job(amo), by=None)
    SyncJob.objects.filter(pk=job.pk).update(
        progress_at=job.progress_at - datetime.timedelta(minutes=10)
    )
    started = []
    monkeypatch.setattr(initial.jobs, "enqueue", lambda task, *args: started.append(args))
    assert initial.resume_stalled() == 1 and started == [(job.pk,)]


def test_the_page_walks_through_preview_start_and_progress(amo, existing, client, admin_persona):
    client.force_login(admin_persona.user)
    url = reverse("integrations:amocrm-initial")
    assert b"data-initial-preview" in client.get(url).content
    client.post(reverse("integrations:amocrm-initial-preview"))
    job = SyncJob.objects.get()
    initial.run(job.pk)  # what the worker does
    page = client.get(url).content.decode()
    assert 'data-count="to_create">8<' in page
    client.post(reverse("integrations:amocrm-initial-start", args=[job.pk]))
    page = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'data-initial-status="running"' in page and "every 1s" in page
    client.post(reverse("integrations:amocrm-initial-pause", args=[job.pk]))
    assert b"data-initial-resume" in client.get(url).content


def test_the_page_needs_settings_rights_and_refuses_hostile_ids(
    amo, client, registrar, admin_persona
):
    client.force_login(registrar.user)
    assert client.get(reverse("integrations:amocrm-initial")).status_code == 403
    assert client.post(reverse("integrations:amocrm-initial-preview")).status_code == 403
    client.force_login(admin_persona.user)
    huge = "/integrations/amocrm/initial/99999999999999999999/start/"
    assert client.post(huge).status_code == 404
    assert client.get(reverse("integrations:amocrm-initial-preview")).status_code == 405
