"""Editing a booked visit: when, where and what for, saved all or nothing."""

import pytest
from django.urls import reverse

from calendar_app import services
from calendar_app.models import Appointment, AppointmentService
from clinic.models import AuditEntry, OutboxEvent

from .factories import AppointmentFactory, ServiceFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def booked(clinic):
    """A 10:00 visit on chair 1 with one service and a note, and a 12:00 one on chair 2."""
    visit = AppointmentFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(10),
        end=clinic.at(10, 30),
        note="Старая заметка",
    )
    AppointmentService.objects.create(
        appointment=visit, service=ServiceFactory(name="Осмотр"), price=1000
    )
    AppointmentFactory(
        patient=clinic.patient,
        doctor=clinic.doctor2,
        chair=clinic.chair2,
        start=clinic.at(12),
        end=clinic.at(12, 30),
    )
    return visit


def edit_data(clinic, visit, **overrides) -> dict:
    data = {
        "patient": visit.patient_id,
        "doctor": visit.doctor_id,
        "chair": visit.chair_id,
        "date": clinic.day.isoformat(),
        "time": "10:00",
        "duration_minutes": 30,
        "services": [line.service_id for line in visit.service_lines.all()],
        "visit_type": "",
        "note": visit.note,
    }
    data.update(overrides)
    return data


def state(visit: Appointment) -> tuple:
    fresh = Appointment.objects.get(pk=visit.pk)
    lines = sorted(fresh.service_lines.values_list("service_id", flat=True))
    return fresh.start, fresh.end, fresh.chair_id, fresh.doctor_id, fresh.note, lines


def test_a_taken_time_refuses_the_whole_edit(
    registrar_client, clinic, booked, django_capture_on_commit_callbacks
):
    """The issue: the user saw "slot taken" but the new note and services were saved."""
    before = state(booked)
    audit, outbox = AuditEntry.objects.count(), OutboxEvent.objects.count()
    filling = ServiceFactory(name="Пломба")
    data = edit_data(
        clinic,
        booked,
        chair=clinic.chair2.pk,
        time="12:00",
        note="Новая заметка",
        services=[filling.pk],
    )
    with django_capture_on_commit_callbacks() as callbacks:
        response = registrar_client.post(
            reverse("calendar:appointment-edit", args=[booked.pk]), data, **HTMX
        )
    assert response.status_code == 422
    assert "Кресло 2" in response.content.decode()  # "Кресло 2 is taken at 12:00 (...)"
    assert state(booked) == before
    assert (AuditEntry.objects.count(), OutboxEvent.objects.count()) == (audit, outbox)
    assert callbacks == []  # no live refresh announced either


def test_the_service_rolls_back_the_details_when_the_move_is_refused(registrar, clinic, booked):
    before = state(booked)
    with pytest.raises(services.SlotTaken):
        services.appointment_edit(
            appointment=booked,
            by=registrar.user,
            start=clinic.at(12),
            end=clinic.at(12, 30),
            chair=clinic.chair2,
            doctor=clinic.doctor,
            services=[ServiceFactory()],
            note="Новая заметка",
            visit_type="returning",
        )
    assert state(booked) == before
    assert Appointment.objects.get(pk=booked.pk).visit_type == booked.visit_type


def test_an_edit_saves_the_time_and_the_details_together(registrar_client, clinic, booked):
    filling = ServiceFactory(name="Пломба")
    data = edit_data(clinic, booked, time="11:00", note="Новая заметка", services=[filling.pk])
    response = registrar_client.post(
        reverse("calendar:appointment-edit", args=[booked.pk]), data, **HTMX
    )
    assert response.status_code == 204
    assert "closeDialog" in response["HX-Trigger"]
    start, end, _chair, _doctor, note, lines = state(booked)
    assert (start, end, note, lines) == (
        clinic.at(11),
        clinic.at(11, 30),
        "Новая заметка",
        [filling.pk],
    )
    changed = AuditEntry.objects.filter(object_id=str(booked.pk), action="update")
    assert {key for entry in changed for key in entry.changes} >= {"start", "note", "services"}


def test_an_edit_of_the_details_alone_does_not_move_the_visit(registrar_client, clinic, booked):
    data = edit_data(clinic, booked, note="Только заметка")
    response = registrar_client.post(
        reverse("calendar:appointment-edit", args=[booked.pk]), data, **HTMX
    )
    assert response.status_code == 204
    assert state(booked)[:5] == (
        clinic.at(10),
        clinic.at(10, 30),
        clinic.chair1.pk,
        clinic.doctor.pk,
        "Только заметка",
    )


def test_an_edit_outside_the_shift_asks_first_and_saves_nothing_until_confirmed(
    registrar_client, clinic, booked
):
    url = reverse("calendar:appointment-edit", args=[booked.pk])
    data = edit_data(clinic, booked, time="16:00", note="После смены")
    response = registrar_client.post(url, data, **HTMX)
    assert response.status_code == 422
    assert response.context["outside_shift"]
    assert 'name="allow_outside_shift" value="true"' in response.content.decode()
    assert state(booked)[4] == "Старая заметка"
    response = registrar_client.post(url, {**data, "allow_outside_shift": "true"}, **HTMX)
    assert response.status_code == 204
    assert state(booked)[0] == clinic.at(16) and state(booked)[4] == "После смены"


def test_editing_needs_the_calendar_change_right(client, doctor, clinic, booked):
    client.force_login(doctor.user)
    url = reverse("calendar:appointment-edit", args=[booked.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, edit_data(clinic, booked, note="x")).status_code == 403
    assert state(booked)[4] == "Старая заметка"


def test_the_edit_dialog_opens_with_the_visits_values(registrar_client, clinic, booked):
    response = registrar_client.get(reverse("calendar:appointment-edit", args=[booked.pk]), **HTMX)
    assert response.status_code == 200
    initial = response.context["form"].initial
    assert (initial["chair"], initial["note"]) == (clinic.chair1.pk, "Старая заметка")
