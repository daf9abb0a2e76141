"""A draft invoice changed: the service (lines, quantities, discounts, the note, totals to
the kopeck, billed once, audit and event)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import services
from billing.amounts import DiscountAsked
from billing.models import InvoiceLine, InvoiceStatus
from clinic.models import AuditEntry, OutboxEvent
from patients.tests.factories import PatientFactory
from pricelist.models import Service

from .discount_factories import DiscountFactory
from .factories import completed_visit, issued_invoice, service

pytestmark = pytest.mark.django_db

D = Decimal
HX = {"HTTP_HX_REQUEST": "true"}


def draft(branch, user, patient=None, prices=("1000.00", "500.00"), **kwargs):
    lines = [services.LineInput(service=service(price)) for price in prices]
    return services.invoice_create(
        patient=patient or PatientFactory(), branch=branch, by=user, lines=lines, **kwargs
    )


# --- The service --------------------------------------------------------------------------


def test_a_draft_gets_new_lines_quantities_discounts_and_note_with_totals_to_the_kopeck(
    branch, admin_persona
):
    user = admin_persona.user
    invoice = draft(branch, user, discount=DiscountAsked(amount=D("50")))
    first, _second = services.lines_from_invoice(invoice).values()
    first.quantity = 3
    first.discount = DiscountAsked(amount=D("100"))
    added = services.LineInput(
        service=service("333.33"), quantity=3, discount=DiscountAsked(percent=D("15"))
    )
    changed = services.invoice_update(
        invoice=invoice,
        lines=[first, added],  # the second line is gone
        by=user,
        discount=DiscountAsked(percent=D("10")),
        note="Оплата частями",
    )
    a, c = InvoiceLine.objects.filter(invoice=invoice).order_by("position")
    assert (a.quantity, a.price, a.amount, a.discount) == (3, D("1000.00"), D("3000.00"), D(100))
    assert c.amount == D("999.99") and c.discount == D("150.00")  # 149.9985 half up
    # 10% of 2900.00 + 849.99 = 374.999 -> 375.00, spread 290.00 and 85.00.
    assert (a.invoice_discount, c.invoice_discount) == (D("290.00"), D("85.00"))
    assert (a.total, c.total) == (D("2610.00"), D("764.99"))
    invoice.refresh_from_db()
    assert invoice == changed
    assert (invoice.subtotal, invoice.discount_total, invoice.total) == (
        D("3999.99"),
        D("625.00"),
        D("3374.99"),
    )
    assert (invoice.discount_percent, invoice.discount_amount, invoice.discount_label) == (
        D("10.00"),
        None,
        "10%",
    )
    assert invoice.note == "Оплата частями"
    assert invoice.status == InvoiceStatus.DRAFT and invoice.number is None


def test_a_drafts_lines_keep_their_prices_and_typed_discounts(branch, admin_persona):
    kept = service("1000.00")
    invoice = services.invoice_create(
        patient=PatientFactory(),
        branch=branch,
        by=admin_persona.user,
        lines=[
            services.LineInput(service=kept, tooth=36, discount=DiscountAsked(percent=D("12.5")))
        ],
        discount=DiscountAsked(amount=D("20.50")),
    )
    Service.objects.filter(pk=kept.pk).update(price=D("1200.00"))
    [line] = services.lines_from_invoice(invoice).values()
    assert (line.price, line.tooth, line.discount) == (
        D("1000.00"),
        36,
        DiscountAsked(percent=D("12.5")),
    )
    assert services.invoice_discount(invoice) == DiscountAsked(amount=D("20.50"))
    services.invoice_update(
        invoice=invoice,
        lines=[line],
        by=admin_persona.user,
        discount=services.invoice_discount(invoice),
    )
    invoice.refresh_from_db()
    assert invoice.total == D("1000.00") - D("125.00") - D("20.50")
    assert invoice.lines.get().price == D("1000.00")


@pytest.mark.parametrize("status", ["issued", "rolled_back"])
def test_only_a_draft_is_changed(branch, admin_persona, status):
    user = admin_persona.user
    invoice = issued_invoice(branch, user, prices=("1000.00",))
    if status == "rolled_back":
        services.invoice_rollback(invoice=invoice, by=user, reason="ошибка")
    lines = list(services.lines_from_invoice(invoice).values())
    with pytest.raises(ValidationError) as refused:
        services.invoice_update(invoice=invoice, lines=lines, by=user, note="x")
    assert refused.value.code == "not_draft"
    assert "Only a draft invoice is changed." in refused.value.messages
    invoice.refresh_from_db()
    assert invoice.note == "" and invoice.lines.count() == 1


def test_an_edit_without_lines_is_refused(branch, admin_persona):
    invoice = draft(branch, admin_persona.user)
    with pytest.raises(ValidationError) as refused:
        services.invoice_update(invoice=invoice, lines=[], by=admin_persona.user)
    assert refused.value.code == "empty"
    assert invoice.lines.count() == 2


def test_billed_once_ignores_the_drafts_own_lines_but_catches_another_invoice(
    branch, admin_persona
):
    user = admin_persona.user
    visit = completed_visit(branch, admin_persona.employee, prices=("1000.00", "700.00"))
    from_visit = services.invoice_create_from_visit(appointment=visit, by=user)
    lines = list(services.lines_from_invoice(from_visit).values())
    assert all(line.appointment_service is not None for line in lines)
    services.invoice_update(invoice=from_visit, lines=lines[:1], by=user)
    assert from_visit.lines.get().appointment_service == lines[0].appointment_service
    other = draft(branch, user, visit.patient, prices=("100.00",))
    with pytest.raises(ValidationError) as refused:
        services.invoice_update(
            invoice=other,
            lines=[*services.lines_from_invoice(other).values(), lines[0]],
            by=user,
        )
    assert refused.value.code == "already_billed"
    # The line the draft let go may be billed elsewhere.
    services.invoice_update(
        invoice=other, lines=[*services.lines_from_invoice(other).values(), lines[1]], by=user
    )
    assert other.lines.count() == 2


def test_another_patients_visit_line_is_refused(branch, admin_persona):
    user = admin_persona.user
    visit = completed_visit(branch, admin_persona.employee)
    theirs = services.lines_from_visit(visit)
    invoice = draft(branch, user)
    with pytest.raises(ValidationError, match="another patient"):
        services.invoice_update(invoice=invoice, lines=theirs, by=user)


def test_the_change_is_audited_and_published(
    branch, admin_persona, django_capture_on_commit_callbacks
):
    from patients import timeline
    from patients.models import PatientEvent

    user = admin_persona.user
    invoice = draft(branch, user, prices=("1000.00", "500.00"))
    first = next(iter(services.lines_from_invoice(invoice).values()))
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_update(invoice=invoice, lines=[first], by=user, note="Без второй")
    entry = AuditEntry.objects.filter(object_id=str(invoice.pk), action="update").get()
    assert entry.changes["total"] == ["1500.00", "1000.00"]
    assert entry.changes["lines"] == [2, 1]
    assert entry.changes["note"] == ["", "Без второй"]
    assert entry.patient_id == invoice.patient_id
    event = OutboxEvent.objects.get(name="invoice.changed")
    assert event.payload["patient_id"] == invoice.patient_id
    assert event.payload["invoice_id"] == invoice.pk
    assert D(event.payload["total"]) == D("1000.00")
    assert D(event.payload["previous_total"]) == D("1500.00")
    shown = PatientEvent.objects.get(patient=invoice.patient, name="invoice.changed")
    assert timeline.render(shown)[1] == "Draft invoice changed: 1\u00a0500,00 → 1\u00a0000,00"


def test_the_discounts_engine_decides_again_for_the_lines_without_their_own(branch, admin_persona):
    ten = DiscountFactory(name="Десять", value=D("10"))
    patient = PatientFactory()
    invoice = draft(branch, admin_persona.user, patient, prices=("1000.00",), chosen_discount=ten)
    assert invoice.total == D("900.00")
    assert services.engine_discount_of(invoice) == ten.pk
    [line] = services.lines_from_invoice(invoice).values()
    assert line.discount is None  # the engine's, not typed
    line.quantity = 2
    services.invoice_update(
        invoice=invoice, lines=[line], by=admin_persona.user, chosen_discount=ten
    )
    invoice.refresh_from_db()
    assert invoice.total == D("1800.00")
    assert invoice.lines.get().discount_ref == ten.pk
    services.invoice_update(invoice=invoice, lines=[line], by=admin_persona.user)
    invoice.refresh_from_db()
    assert invoice.total == D("2000.00")
