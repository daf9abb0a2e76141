"""What a visit looks like in the calendar's events feed (read as rows, not instances)."""

from calendar_app.models import AppointmentService, StatusCode
from calendar_app.selectors import status_styles
from patients.tests.factories import PatientFactory

from .factories import ServiceFactory
from .test_views import feed, visit


def test_a_visit_event_carries_the_names_phone_status_and_services_in_order(
    registrar_client, clinic
):
    patient = PatientFactory(
        last_name="Соколова", first_name="Мария", middle_name="Ивановна", phone="+79161234567"
    )
    booked = visit(clinic, 10, patient=patient, status=StatusCode.CONFIRMED, note="Боль справа")
    second, first = ServiceFactory(name="Пломба"), ServiceFactory(name="Анестезия")
    for service in (first, second):
        AppointmentService.objects.create(appointment=booked, service=service, price=service.price)
    nameless = visit(clinic, 11, patient=PatientFactory(middle_name=""))

    events = {e["id"]: e for e in feed(registrar_client, clinic).json()}
    event = events[f"a{booked.pk}"]

    assert event["title"] == "Соколова М. И."
    assert event["start"] == f"{clinic.day}T10:00:00"
    assert event["end"] == f"{clinic.day}T10:30:00"
    assert event["resourceId"] == clinic.chair1.pk
    assert event["backgroundColor"] == status_styles()[StatusCode.CONFIRMED]["color"]
    props = event["extendedProps"]
    assert props["patientName"] == "Соколова Мария Ивановна"
    assert props["patientId"] == patient.pk
    assert props["phone"] == "+7 916 123-45-67"
    assert props["doctor"] == clinic.doctor.short_name
    assert props["doctorColor"] == clinic.doctor.color
    assert props["statusName"] == status_styles()[StatusCode.CONFIRMED]["name"]
    assert props["services"] == ["Анестезия", "Пломба"]
    assert props["note"] == "Боль справа"
    assert events[f"a{nameless.pk}"]["title"] == nameless.patient.short_name
    assert events[f"a{nameless.pk}"]["extendedProps"]["services"] == []


def test_the_feed_is_utf8_json_with_letters_as_they_are(registrar_client, clinic):
    """Two thousand events a week: six-byte escapes of every Cyrillic letter would double it."""
    visit(clinic, 10, patient=PatientFactory(last_name="Соколова"))
    response = feed(registrar_client, clinic)
    assert response["Content-Type"] == "application/json"
    assert "Соколова".encode() in response.content
    assert b"\\u04" not in response.content
