"""Billing's scale data (size XS, inside the test's transaction): an invoice for each
completed visit, payments and debts in their shares, and a ledger that adds up."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from billing import ledger, services
from billing.models import Invoice, InvoiceLine, LedgerEntry, Payment
from calendar_app.models import Appointment, StatusCode
from clinic.models import User
from clinic.tests.test_scale import seed

from .factories import cash

pytestmark = pytest.mark.django_db


def test_completed_visits_are_invoiced_paid_in_shares_and_the_ledger_adds_up():
    seed()
    completed = Appointment.objects.filter(status=StatusCode.COMPLETED)
    invoices = Invoice.objects.all()
    assert invoices.count() == completed.exclude(services=None).distinct().count()
    assert not invoices.exclude(appointment__status=StatusCode.COMPLETED).exists()
    invoice = invoices.filter(total__gt=0).first()
    lines = InvoiceLine.objects.filter(invoice=invoice)
    assert lines.aggregate(total=Sum("total"))["total"] == invoice.total
    assert lines.first().doctor_id == invoice.appointment.doctor_id
    assert Payment.objects.filter(invoice__isnull=True).exists()  # deposits
    dues = {i.pk: ledger.due_on(i) for i in invoices.filter(total__gt=0)}
    assert any(due > 0 for due in dues.values())  # debts
    assert sum(1 for due in dues.values() if due == 0) > len(dues) * 0.8
    # Every invoice's due is its total less its payments; no entry is left unmatched.
    for entry in LedgerEntry.objects.filter(kind="payment")[:50]:
        assert entry.payment.invoice_id == entry.invoice_id
    patient = invoice.patient
    balance = ledger.balance_of(patient)
    sums = LedgerEntry.objects.filter(account__patient=patient).aggregate(s=Sum("amount"))["s"]
    assert balance.balance == sums


def test_numbering_goes_on_after_the_generated_invoices():
    seed()
    last = Invoice.objects.order_by("-number").first()
    admin = User.objects.get(username="admin")
    fresh = services.invoice_create(
        patient=last.patient,
        branch=last.branch,
        by=admin,
        lines=[services.LineInput(service=InvoiceLine.objects.first().service)],
    )
    fresh = services.invoice_issue(invoice=fresh, by=admin)
    same_year = Invoice.objects.filter(branch=last.branch, year=fresh.year).exclude(pk=fresh.pk)
    assert fresh.number == max(same_year.values_list("number", flat=True), default=0) + 1
    services.invoice_pay(invoice=fresh, amount=Decimal("1"), method=cash(), by=admin)
