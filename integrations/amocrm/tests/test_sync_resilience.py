"""The sync when amoCRM is slow, failing or losing webhooks: nothing lost, nothing twice."""

import contextlib

import httpx
import pytest

from calendar_app import services as calendar
from integrations import http as base_http
from integrations.amocrm import reconcile
from integrations.amocrm.client import AmoClient
from integrations.amocrm.config import CONTACT, LEAD, SYSTEM
from integrations.http import IntegrationError
from integrations.models import ExternalLink, InboundWebhook, SyncQueueItem
from patients.models import Patient

from .helpers import book, contact_of, new_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def impatient_client(monkeypatch):
    """Short timeouts and backoffs, so injected timeouts and 429s cost milliseconds."""
    monkeypatch.setattr(AmoClient, "timeout", httpx.Timeout(0.5, connect=0.5))
    monkeypatch.setattr(AmoClient, "backoff_base", 0.001)
    monkeypatch.setattr(AmoClient, "retry_after_max", 0.01)
    monkeypatch.setattr(base_http.ApiClient, "limiter_max_wait", 5.0)


def test_a_create_whose_answer_was_lost_is_not_made_twice(amo, desk, impatient_client):
    amo.fake.fail_after_apply_next("500")
    patient = new_patient(desk["user"])
    amo.sync()
    assert len(amo.fake.contacts) == 1
    assert contact_of(amo, patient)


def _time_passes() -> None:
    """What the minutes between two beats do: backed-off pushes and webhooks are due again."""
    SyncQueueItem.objects.update(next_attempt_at=None)
    InboundWebhook.objects.filter(status="failed").update(status="received", next_attempt_at=None)


def _converged(amo, patients, visits) -> bool:
    links = {
        int(link.object_id): int(link.external_id)
        for link in ExternalLink.objects.filter(system=SYSTEM, external_type=CONTACT)
    }
    if set(links) != {p.pk for p in Patient.objects.all()}:
        return False
    if set(links.values()) != set(amo.fake.contacts):
        return False
    for patient in Patient.objects.all():
        contact = amo.fake.contacts[links[patient.pk]]
        if contact["name"] != patient.full_name:
            return False
        if amo.fake.contact_field_value(contact, "PHONE") != patient.phone:
            return False
    settings = amo.connection.settings
    for visit in visits:
        visit.refresh_from_db()
        link = ExternalLink.objects.filter(
            system=SYSTEM, external_type=LEAD, object_id=str(visit.pk)
        ).first()
        if link is None or int(link.external_id) not in amo.fake.leads:
            return False
        if (
            amo.fake.leads[int(link.external_id)]["status_id"]
            != settings["status_to_stage"][visit.status]
        ):
            return False
    return True


def test_with_a_third_of_requests_failing_and_webhooks_lost_both_sides_converge(
    amo, desk, impatient_client
):
    amo.fake.fail_ratio(0.3, kinds=("429", "500", "timeout"), timeout_seconds=0.8)
    amo.fake.drop_webhooks(0.1)
    patients = [
        new_patient(desk["user"], last_name=f"Пациентов{i}", phone=f"+7916100{i:04d}")
        for i in range(8)
    ]
    for i in range(4):
        amo.fake.ui_add_contact(f"Контактов{i} Иван", phone=f"+7903200{i:04d}")
    visits = [book(desk, patient, hour=9 + i) for i, patient in enumerate(patients[:5])]
    moved_in_amocrm = False
    for attempt in range(40):
        _time_passes()
        with contextlib.suppress(AssertionError, IntegrationError):
            amo.sync(max_rounds=4, allow_failures=True)
        # Both sides keep changing while the sync struggles.
        if attempt == 3:
            calendar.appointment_set_status(
                appointment=visits[1], by=desk["user"], status="confirmed"
            )
        link = ExternalLink.objects.filter(external_type=LEAD, object_id=str(visits[4].pk)).first()
        if attempt >= 6 and link is not None and not moved_in_amocrm:
            amo.fake.ui_move_lead(int(link.external_id), amo.fake.status_id("Не пришёл"))
            moved_in_amocrm = True
        try:
            with amo.client() as api:
                reconcile.reconcile(amo.connection, api)
        except IntegrationError:
            pass
        if attempt > 8 and _converged(amo, patients, visits):
            break
    assert _converged(amo, patients, visits), amo.rounds[-3:]
    visits[1].refresh_from_db()
    visits[4].refresh_from_db()
    assert (visits[1].status, visits[4].status) == ("confirmed", "no_show")
    # Nothing twice: one contact per patient, one deal per visit, one patient per contact.
    assert len(amo.fake.contacts) == Patient.objects.count() == 12
    assert len(amo.fake.leads) == 5
    assert ExternalLink.objects.filter(external_type=LEAD).count() == 5


def test_an_expired_oauth_token_is_refreshed_once_and_stored(amo, desk):
    from integrations.amocrm.client import credentials_from_token_answer

    code = amo.fake.issue_code(redirect_uri="https://clinic.test/cb")
    credentials = AmoClient.exchange_code(
        base_url=amo.fake.url,
        client_id=amo.fake.client_id,
        client_secret=amo.fake.client_secret,
        code=code,
        redirect_uri="https://clinic.test/cb",
    )
    assert credentials["kind"] == "oauth" and credentials_from_token_answer
    amo.connection.set_credentials(credentials)
    amo.connection.save()
    amo.fake.expire_tokens()
    new_patient(desk["user"])
    amo.sync()
    amo.connection.refresh_from_db()
    stored = amo.connection.get_credentials()
    assert stored["access_token"] != credentials["access_token"]
    assert stored["refresh_token"] != credentials["refresh_token"]
    assert len(amo.fake.contacts) == 1
    token_calls = [r for r in amo.fake.journal if r.path == "/oauth2/access_token"]
    assert len(token_calls) == 2  # the code, then one refresh


def test_a_revoked_token_asks_for_reconnecting(amo, desk):
    amo.fake.revoke_all()
    new_patient(desk["user"])
    amo.sync()
    amo.connection.refresh_from_db()
    assert amo.connection.status == "needs_reconnect"
    assert SyncQueueItem.objects.filter(entity_type="patient").count() == 1  # waits


def test_a_webhook_racing_the_push_that_made_its_contact_links_nothing_twice(amo, desk):
    """The contact a push just made comes back as a webhook before the push has linked it
    (its transaction still open): both sides end with the same single link."""
    from integrations.amocrm import inbound, outbound
    from integrations.amocrm.config import CONTACT
    from integrations.models import ExternalLink

    patient = new_patient(desk["user"])
    with amo.client() as api:
        real_make = outbound.links_make

        def webhook_first(rows):
            for obj, external_type, external_id, _synced, _at in rows:
                if external_type == CONTACT:  # the webhook is processed "in between"
                    contact = api.contact(int(external_id))
                    inbound.link_contact(amo.connection, api, contact, patient=obj, by=None)
            return real_make(rows)

        outbound.links_make = webhook_first
        try:
            outbound.push_patients(amo.connection, api, [patient.pk])
        finally:
            outbound.links_make = real_make
    assert ExternalLink.objects.filter(external_type=CONTACT).count() == 1
    assert len(amo.fake.contacts) == 1
