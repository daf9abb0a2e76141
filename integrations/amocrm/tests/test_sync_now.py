""" "Sync now" and "Resume" on the integration page."""

import pytest
from django.urls import reverse

from integrations.amocrm import tasks
from integrations.models import Connection, InboundWebhook, SyncQueueItem

from .helpers import contact_of, new_patient

pytestmark = pytest.mark.django_db


def test_sync_now_pushes_what_waits_and_applies_waiting_webhooks(
    amo, desk, client, admin_persona, monkeypatch
):
    started = []
    monkeypatch.setattr("clinic.jobs.enqueue", lambda task, *args: started.append(task))
    patient = new_patient(desk["user"])
    amo.sync()  # linked
    SyncQueueItem.objects.create(system="amocrm", entity_type="patient", object_id=patient.pk)
    amo.fake.ui_update_contact(contact_of(amo, patient)["id"], name="Смирнова Ольга Олеговна")
    amo.fake.deliver_webhooks(post=amo.post)
    assert InboundWebhook.objects.filter(status="received").exists()
    client.force_login(admin_persona.user)
    response = client.post(reverse("integrations:amocrm-sync-now"))
    assert response.status_code == 302 and started == [tasks.amocrm_sync_now]
    tasks.amocrm_sync_now()  # what the worker does
    patient.refresh_from_db()
    assert patient.middle_name == "Олеговна"
    assert not InboundWebhook.objects.exclude(status="processed").exists()
    assert not SyncQueueItem.objects.exists()
    amo.connection.refresh_from_db()
    assert isinstance(amo.connection.settings.get("last_reconcile_at"), int)


def test_resume_asks_amocrm_first(amo, client, admin_persona, monkeypatch):
    monkeypatch.setattr("clinic.jobs.enqueue", lambda task, *args: None)
    Connection.objects.filter(pk=amo.connection.pk).update(status="paused", status_reason="403")
    client.force_login(admin_persona.user)
    amo.fake.block()
    client.post(reverse("integrations:amocrm-sync-now"))
    assert Connection.objects.get(pk=amo.connection.pk).status == "paused"
    amo.fake.unblock()
    client.post(reverse("integrations:amocrm-sync-now"))
    assert Connection.objects.get(pk=amo.connection.pk).status == "connected"


def test_sync_now_needs_the_right_to_change_settings(amo, client, registrar):
    client.force_login(registrar.user)
    assert client.post(reverse("integrations:amocrm-sync-now")).status_code == 403
    assert client.get(reverse("integrations:amocrm-sync-now")).status_code in (403, 405)
