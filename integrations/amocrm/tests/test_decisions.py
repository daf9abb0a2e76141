"""Settings -> Integrations -> amoCRM -> Needs a decision: the list and its two actions."""

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from integrations.amocrm import setup
from integrations.amocrm.config import CONTACT, SYSTEM
from integrations.amocrm.tests.ui import DECISIONS, RESOLVE, connect_fake, login_with_rights
from integrations.links import link_find
from integrations.models import Connection, DecisionStatus, SyncDecision
from integrations.services import connection_ensure
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

RESOLVER = "integrations.amocrm.decisions.decision_resolve"


def contact_payload(contact_id: int, name: str = "Иван Петров", phone: str = "+79991234567"):
    return {
        "id": contact_id,
        "name": name,
        "custom_fields_values": [
            {"field_code": "PHONE", "values": [{"value": phone, "enum_code": "WORK"}]}
        ],
    }


def make_decision(connection, *, external_id: int = 501, candidates=None, **payload):
    patients = candidates if candidates is not None else PatientFactory.create_batch(2)
    return SyncDecision.objects.create(
        system=SYSTEM,
        connection=connection,
        external_type=CONTACT,
        external_id=str(external_id),
        reason="Several patients share this phone",
        candidates=[p.pk for p in patients],
        payload=contact_payload(external_id, **payload),
    )


@pytest.fixture
def connection(db):
    return connection_ensure(system=SYSTEM)


def test_the_list_shows_the_remote_contact_and_links_to_the_candidates(manager_client, connection):
    decision = make_decision(connection, name="Мария Иванова")
    first, second = (PatientFactory._meta.model.objects.get(pk=pk) for pk in decision.candidates)
    response = manager_client.get(DECISIONS)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Мария Иванова" in page and "+79991234567" in page
    assert f"/patients/{first.pk}/" in page and f"/patients/{second.pk}/" in page
    assert f'name="patient" value="{first.pk}"' in page
    assert 'name="create" value="on"' in page


def test_resolved_decisions_are_not_listed(manager_client, connection):
    decision = make_decision(connection, name="Решённый Контакт")
    decision.status = DecisionStatus.RESOLVED
    decision.save()
    assert "Решённый Контакт" not in manager_client.get(DECISIONS).content.decode()


def test_the_list_is_paginated(manager_client, connection):
    patient = PatientFactory()
    for number in range(30):
        make_decision(connection, external_id=1000 + number, candidates=[patient])
    first = manager_client.get(DECISIONS)
    second = manager_client.get(DECISIONS, {"page": 2})
    assert len(first.context["rows"]) == 25
    assert len(second.context["rows"]) == 5


def test_the_list_s_queries_do_not_grow_with_decisions_and_candidates(manager_client, connection):
    def queries() -> int:
        with CaptureQueriesContext(db) as captured:
            assert manager_client.get(DECISIONS).status_code == 200
        return len(captured)

    make_decision(connection, external_id=1)
    queries()  # the session and the rights are read once, then cached
    few = queries()
    for number in range(5):
        make_decision(
            connection, external_id=10 + number, candidates=PatientFactory.create_batch(3)
        )
    assert queries() == few


def test_link_calls_decision_resolve_with_the_candidate(manager_client, manager, connection):
    decision = make_decision(connection)
    patient_id = decision.candidates[1]
    with mock.patch(RESOLVER) as resolve:
        response = manager_client.post(RESOLVE, {"decision": decision.pk, "patient": patient_id})
    assert response.status_code == 302
    assert response["Location"] == DECISIONS
    kwargs = resolve.call_args.kwargs
    assert kwargs["decision"].pk == decision.pk
    assert kwargs["patient"].pk == patient_id
    assert kwargs["by"] == manager.user


def test_create_calls_decision_resolve_without_a_patient(manager_client, connection):
    decision = make_decision(connection)
    with mock.patch(RESOLVER) as resolve:
        response = manager_client.post(RESOLVE, {"decision": decision.pk, "create": "on"})
    assert response.status_code == 302
    assert resolve.call_args.kwargs["patient"] is None


def test_a_patient_who_is_not_a_candidate_is_refused(manager_client, connection):
    decision = make_decision(connection)
    stranger = PatientFactory()
    with mock.patch(RESOLVER) as resolve:
        response = manager_client.post(RESOLVE, {"decision": decision.pk, "patient": stranger.pk})
    assert response.status_code == 400
    resolve.assert_not_called()


def test_a_decision_already_taken_is_not_taken_again(manager_client, connection):
    decision = make_decision(connection)
    decision.status = DecisionStatus.RESOLVED
    decision.save()
    with mock.patch(RESOLVER) as resolve:
        response = manager_client.post(RESOLVE, {"decision": decision.pk, "create": "on"})
    assert response.status_code == 302
    resolve.assert_not_called()


def test_a_refusal_of_the_sync_is_a_message(manager_client, connection):
    decision = make_decision(connection)
    refusal = ValidationError("This decision has already been made.")
    with mock.patch(RESOLVER, side_effect=refusal):
        response = manager_client.post(
            RESOLVE, {"decision": decision.pk, "create": "on"}, follow=True
        )
    assert "This decision has already been made." in response.content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"decision": "9" * 40, "create": "on"},
        {"decision": "-3", "create": "on"},
        {"decision": "1", "patient": "9" * 40},
        {"decision": "1", "patient": "1", "create": "on"},
        {"decision": "1"},
        {},
    ],
)
def test_nonsense_is_a_400(manager_client, connection, data):
    with mock.patch(RESOLVER) as resolve:
        response = manager_client.post(RESOLVE, data)
    assert response.status_code == 400
    resolve.assert_not_called()


def test_nul_bytes_are_refused(manager_client, connection):
    assert manager_client.post(RESOLVE, {"decision": "1\x00"}).status_code == 400


def test_resolve_is_a_post(manager_client):
    assert manager_client.get(RESOLVE).status_code == 405


def test_a_viewer_sees_the_list_and_decides_nothing(client, branch, connection):
    decision = make_decision(connection)
    login_with_rights(client, branch, ("settings", "view"))
    page = client.get(DECISIONS)
    assert page.status_code == 200
    assert b'name="create"' not in page.content
    with mock.patch(RESOLVER) as resolve:
        assert client.post(RESOLVE, {"decision": decision.pk, "create": "on"}).status_code == 403
    resolve.assert_not_called()


def test_without_settings_rights_the_list_is_refused(registrar_client, connection):
    assert registrar_client.get(DECISIONS).status_code == 403


def test_linking_for_real_writes_the_link_and_the_mis_id(manager_client, fake_amo):
    connection = connect_fake(fake_amo)
    with setup.AmoClient(connection) as client:
        mis_id = setup.ensure_mis_id_field(client, "contacts", client.custom_fields("contacts"))
    connection.settings["contact_fields"] = {"mis_id": mis_id}
    connection.save()
    contact = fake_amo.ui_add_contact("Пётр Семейный", phone="+79990001122")
    patients = PatientFactory.create_batch(2, phone="+79990001122")
    decision = make_decision(connection, external_id=contact["id"], candidates=patients)

    response = manager_client.post(RESOLVE, {"decision": decision.pk, "patient": patients[0].pk})

    assert response.status_code == 302
    link = link_find(system=SYSTEM, external_type=CONTACT, external_id=str(contact["id"]))
    assert link is not None and link.object_id == str(patients[0].pk)
    assert SyncDecision.objects.get(pk=decision.pk).status == DecisionStatus.RESOLVED
    assert fake_amo.contact_field_value(contact["id"], mis_id)
    assert Connection.objects.get(pk=connection.pk).status == "connected"
