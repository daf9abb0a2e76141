"""Concurrent payments on PostgreSQL, each thread in its own connection: many cashiers paying
one invoice, or spending one deposit, at the same moment. No double spending (never more
paid than due, never more spent than the deposit held) and no lost payment (every accepted
payment is on the ledger)."""

import threading
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum

from billing import ledger, services
from billing.models import LedgerEntry, Payment
from patients.tests.factories import PatientFactory

from .factories import cash, completed_visit, issued_invoice

D = Decimal


def _race(count: int, attempt) -> list[str]:
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            attempt(index)
            result = "accepted"
        except ValidationError:
            result = "refused"
        except Exception as exc:  # any other failure is a bug worth seeing
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_ten_cashiers_paying_one_invoice_at_once_never_overpay_it(transactional_db, branch):
    from clinic.testing import make_admin

    user = make_admin(branch).user
    invoice = issued_invoice(branch, user, prices=("1000.00",))
    method = cash()

    outcomes = _race(
        10,
        lambda i: services.invoice_pay(invoice=invoice, amount=D("150"), method=method, by=user),
    )
    assert sorted(outcomes) == ["accepted"] * 6 + ["refused"] * 4
    assert ledger.paid_on(invoice) == D("900.00")
    assert Payment.objects.filter(invoice=invoice).count() == 6
    assert ledger.due_on(invoice) == D("100.00")


def test_ten_invoices_paid_from_one_deposit_at_once_never_spend_more_than_it_holds(
    transactional_db, branch
):
    from clinic.testing import make_admin

    user = make_admin(branch).user
    patient = PatientFactory()
    invoices = [issued_invoice(branch, user, patient, prices=("300.00",)) for _ in range(10)]
    services.deposit_top_up(
        patient=patient, amount=D("1000"), method=cash(), branch=branch, by=user
    )

    outcomes = _race(
        10, lambda i: services.invoice_pay(invoice=invoices[i], amount=D("300"), by=user)
    )
    assert sorted(outcomes) == ["accepted"] * 3 + ["refused"] * 7
    money = ledger.balance_of(patient)
    assert money.deposit == D("100.00")
    assert money.debt == D("2100.00")
    total = LedgerEntry.objects.filter(account__patient=patient).aggregate(s=Sum("amount"))["s"]
    assert money.balance == total


def test_withdrawals_and_payments_racing_for_one_deposit(transactional_db, branch):
    from clinic.testing import make_admin

    user = make_admin(branch).user
    patient = PatientFactory()
    invoices = [issued_invoice(branch, user, patient, prices=("500.00",)) for _ in range(4)]
    services.deposit_top_up(
        patient=patient, amount=D("1000"), method=cash(), branch=branch, by=user
    )
    method = cash()

    def attempt(i: int) -> None:
        if i % 2:
            services.deposit_withdraw(
                patient=patient, amount=D("500"), method=method, branch=branch, by=user
            )
        else:
            services.invoice_pay(invoice=invoices[i // 2], amount=D("500"), by=user)

    outcomes = _race(8, attempt)
    assert outcomes.count("accepted") == 2
    assert all(o in ("accepted", "refused") for o in outcomes)
    assert ledger.balance_of(patient).deposit == 0


def test_five_cashiers_billing_one_visit_at_once_make_one_invoice(transactional_db, branch, doctor):
    from billing.models import Invoice
    from clinic.testing import make_admin

    user = make_admin(branch).user
    visit = completed_visit(branch, doctor.employee, prices=("700.00", "300.00"))

    outcomes = _race(5, lambda i: services.invoice_create_from_visit(appointment=visit, by=user))
    assert sorted(outcomes) == ["accepted"] + ["refused"] * 4
    assert Invoice.objects.filter(appointment=visit).count() == 1
