"""A visit's services on teeth: a filling on 36 and one on 46 in one visit, each line with
its tooth, quantity and the price it was booked at."""

from decimal import Decimal

import pytest
from django.urls import reverse

from calendar_app import services
from calendar_app.models import AppointmentService
from clinic import audit_display
from clinic.models import AuditEntry, OutboxEvent

from .factories import ServiceFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def filling(db):
    return ServiceFactory(name="Пломба", per_tooth=True, price=Decimal("4000.00"))


@pytest.fixture
def exam(db):
    return ServiceFactory(name="Осмотр", price=Decimal("800.00"))


def book(clinic, user, lines):
    return services.appointment_book(
        by=user,
        patient=clinic.patient,
        doctor=clinic.doctor,
        chair=clinic.chair1,
        start=clinic.at(10),
        end=clinic.at(11),
        services=lines,
    )


def lines_of(visit) -> list[tuple]:
    return sorted(
        AppointmentService.objects.filter(appointment=visit).values_list(
            "service__name", "tooth", "quantity", "price"
        ),
        key=lambda row: (row[0], row[1] or 0),
    )


def form_data(clinic, visit, chosen, **teeth) -> dict:
    return {
        "patient": visit.patient_id,
        "doctor": visit.doctor_id,
        "chair": visit.chair_id,
        "date": clinic.day.isoformat(),
        "time": "10:00",
        "duration_minutes": 60,
        "services": [service.pk for service in chosen],
        "visit_type": "",
        "note": "",
        **{f"teeth-{service.pk}": text for service, text in teeth.get("on", {}).items()},
    }


def test_one_service_on_two_teeth_books_two_lines(clinic, registrar, filling, exam):
    visit = book(
        clinic,
        registrar.user,
        [services.Line(filling, tooth=36), services.Line(filling, tooth=46), exam],
    )
    assert lines_of(visit) == [
        ("Осмотр", None, 1, Decimal("800.00")),
        ("Пломба", 36, 1, Decimal("4000.00")),
        ("Пломба", 46, 1, Decimal("4000.00")),
    ]
    event = OutboxEvent.objects.get(name="appointment.created", aggregate_id=str(visit.pk))
    assert sorted((s["name"], s["tooth"]) for s in event.payload["services"])[1:] == [
        ("Пломба", 36),
        ("Пломба", 46),
    ]


def test_a_tooth_that_does_not_exist_is_refused_by_the_service(clinic, registrar, filling):
    with pytest.raises(services.ValidationError, match="19"):
        book(clinic, registrar.user, [services.Line(filling, tooth=19)])
    with pytest.raises(services.ValidationError):
        book(clinic, registrar.user, [services.Line(filling, tooth=36, quantity=0)])
    assert not AppointmentService.objects.exists()


def test_the_dialog_books_teeth_and_editing_keeps_booked_prices(
    registrar_client, clinic, registrar, filling, exam
):
    visit = book(clinic, registrar.user, [exam])
    url = reverse("calendar:appointment-edit", args=[visit.pk])
    response = registrar_client.post(
        url, form_data(clinic, visit, [exam, filling], on={filling: "36, 46"}), **HTMX
    )
    assert response.status_code == 204, response.content.decode()
    assert [row[1] for row in lines_of(visit)] == [None, 36, 46]

    filling.price = Decimal("5000.00")
    filling.save()
    response = registrar_client.post(
        url, form_data(clinic, visit, [exam, filling], on={filling: "36 47"}), **HTMX
    )
    assert response.status_code == 204
    assert lines_of(visit) == [
        ("Осмотр", None, 1, Decimal("800.00")),
        ("Пломба", 36, 1, Decimal("4000.00")),  # kept: the price it was booked at
        ("Пломба", 47, 1, Decimal("5000.00")),  # new: today's price
    ]
    entry = AuditEntry.objects.filter(object_id=str(visit.pk)).latest("id")
    assert entry.changes["service_lines"] == [
        sorted([exam.code, f"{filling.code} · 36", f"{filling.code} · 46"]),
        sorted([exam.code, f"{filling.code} · 36", f"{filling.code} · 47"]),
    ]
    rows = {row.label: row for row in audit_display.describe_entries([entry])[0].rows}
    assert rows["услуга приёма"].new == ", ".join(entry.changes["service_lines"][1])


def test_the_dialog_shows_the_teeth_of_each_per_tooth_service(
    registrar_client, clinic, registrar, filling, exam
):
    visit = book(
        clinic,
        registrar.user,
        [services.Line(filling, tooth=46), services.Line(filling, tooth=36), exam],
    )
    response = registrar_client.get(reverse("calendar:appointment-edit", args=[visit.pk]), **HTMX)
    page = response.content.decode()
    assert f'name="teeth-{filling.pk}" value="36, 46"' in page
    assert f'name="teeth-{exam.pk}"' not in page
    assert f'"{filling.pk}": "\\u041f' in page  # the script adds rows for services picked later


def test_editing_other_fields_keeps_quantities_and_teeth(
    registrar_client, clinic, registrar, filling
):
    visit = book(clinic, registrar.user, [services.Line(filling, tooth=36, quantity=2)])
    data = form_data(clinic, visit, [filling], on={filling: "36"})
    data["note"] = "Новая заметка"
    response = registrar_client.post(
        reverse("calendar:appointment-edit", args=[visit.pk]), data, **HTMX
    )
    assert response.status_code == 204
    assert lines_of(visit) == [("Пломба", 36, 2, Decimal("4000.00"))]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("19", "19"),
        ("36, abc", "FDI"),
        ("3" * 300, ""),
        ("99999999999999999999", "FDI"),
    ],
)
def test_bad_teeth_explain_themselves(
    registrar_client, clinic, registrar, filling, exam, text, message
):
    visit = book(clinic, registrar.user, [exam])
    before = lines_of(visit)
    response = registrar_client.post(
        reverse("calendar:appointment-edit", args=[visit.pk]),
        form_data(clinic, visit, [exam, filling], on={filling: text}),
        **HTMX,
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "Пломба" in page and message in page
    assert lines_of(visit) == before


def test_teeth_given_for_a_service_not_on_teeth_are_ignored(
    registrar_client, clinic, registrar, exam
):
    visit = book(clinic, registrar.user, [])
    response = registrar_client.post(
        reverse("calendar:appointment-edit", args=[visit.pk]),
        form_data(clinic, visit, [exam], on={exam: "36"}),
        **HTMX,
    )
    assert response.status_code == 204
    assert lines_of(visit) == [("Осмотр", None, 1, Decimal("800.00"))]
