"""The card's History tab: every app's events over time, filtered by kind, a page at a time;
the clinical record's events only for users who may read it."""

import datetime

import factory
import pytest
from django.urls import reverse
from django.utils import timezone

from patients.tests.factories import PatientEventFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    """A patient with a chart finding, a visit, a printed document and a card change."""
    patient = PatientFactory()
    now = timezone.now()
    for minutes, name, payload in [
        (4, "patient.updated", {"changed": ["phone"]}),
        (3, "appointment.created", {"start_display": "01.12.2026 10:00"}),
        (2, "chart.diagnosis_added", {"teeth": [36], "diagnosis": "K02.1"}),
        (1, "document.printed", {"title": "Договор"}),
    ]:
        PatientEventFactory(
            patient=patient,
            name=name,
            occurred_at=now - datetime.timedelta(minutes=minutes),
            payload={"patient_id": patient.pk, **payload},
        )
    return patient


def shown(response) -> list[str]:
    page = response.content.decode()
    return [
        name
        for name in (
            "patient.updated",
            "appointment.created",
            "chart.diagnosis_added",
            "document.printed",
        )
        if f'data-timeline-entry="{name}"' in page
    ]


def test_a_doctor_sees_everything_and_filters_by_kind(doctor_client, history):
    url = reverse("patients:section", args=[history.pk, "events"])
    assert len(shown(doctor_client.get(url))) == 4
    assert shown(doctor_client.get(url, {"kind": "clinical"})) == ["chart.diagnosis_added"]
    assert shown(doctor_client.get(url, {"kind": "visits"})) == ["appointment.created"]
    assert shown(doctor_client.get(url, {"kind": "documents"})) == ["document.printed"]
    assert shown(doctor_client.get(url, {"kind": "card"})) == ["patient.updated"]
    # An unknown kind is all of them, not an error.
    assert len(shown(doctor_client.get(url, {"kind": "<script>"}))) == 4


def test_the_front_desk_does_not_read_diagnoses_on_the_timeline(registrar_client, history):
    for url in (
        reverse("patients:card", args=[history.pk]),
        reverse("patients:section", args=[history.pk, "events"]),
        reverse("patients:timeline", args=[history.pk]),
    ):
        response = registrar_client.get(url)
        assert response.status_code == 200
        assert "chart.diagnosis_added" not in shown(response)
        assert "K02.1" not in response.content.decode()
    response = registrar_client.get(
        reverse("patients:section", args=[history.pk, "events"]), {"kind": "clinical"}
    )
    assert "chart.diagnosis_added" not in shown(response)
    assert 'data-timeline-kind="clinical"' not in response.content.decode()


def test_earlier_events_come_a_page_at_a_time_in_fixed_queries(
    doctor_client, django_assert_max_num_queries
):
    patient = PatientFactory()
    now = timezone.now()
    PatientEventFactory.create_batch(
        60,
        patient=patient,
        name="appointment.created",
        occurred_at=factory.Sequence(lambda n: now - datetime.timedelta(minutes=n)),
        payload={"patient_id": patient.pk, "start_display": "01.12.2026 10:00"},
    )
    url = reverse("patients:timeline", args=[patient.pk])
    first = doctor_client.get(url).content.decode()
    assert first.count("data-timeline-entry=") == 50
    assert "page=2" in first
    with django_assert_max_num_queries(12):
        second = doctor_client.get(url, {"page": 2}).content.decode()
    assert second.count("data-timeline-entry=") == 10
    assert "page=3" not in second
    # A page far beyond the end, or a silly one, is an empty page, not an error.
    for page in ("999", "99999999999999999999", "-1", "x"):
        assert doctor_client.get(url, {"page": page}).status_code == 200
