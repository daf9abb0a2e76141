"""Property tests (hypothesis): over random sequences of invoices, payments, deposits,
withdrawals, refunds and rollbacks, the balance is the sum of the ledger, the debt and the
deposit agree with a plain model of what happened, and never go negative."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import ledger, services
from billing.models import Account, Invoice, InvoiceStatus, LedgerEntry, Payment
from clinic import preferences
from patients.models import Family
from patients.tests.factories import PatientFactory

from .factories import cash, service

pytestmark = pytest.mark.django_db

D = Decimal
ZERO = D("0.00")

amounts = st.decimals(min_value=D("-5"), max_value=D("3000"), places=2)
operations = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "issue",
                "pay",
                "pay_deposit",
                "top_up",
                "withdraw",
                "rollback_payment",
                "refund",
                "rollback_invoice",
            ]
        ),
        amounts,
        st.integers(min_value=0, max_value=7),
    ),
    min_size=1,
    max_size=25,
)
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _pick(items: list, index: int):
    return items[index % len(items)] if items else None


def _check_invariants(patients) -> None:
    accounts = list(Account.objects.all())
    sums = ledger.account_sums(accounts)
    for account in accounts:
        assert sums[account.pk].deposit >= 0, "a deposit went negative"
        total = LedgerEntry.objects.filter(account=account).aggregate(s=Sum("amount", default=ZERO))
        assert sums[account.pk].balance == total["s"]
    for invoice in Invoice.objects.all():
        paid = ledger.paid_on(invoice)
        assert ZERO <= paid <= invoice.total, "an invoice was paid more than its total"
        expected_due = invoice.total - paid if invoice.status == InvoiceStatus.ISSUED else ZERO
        assert invoice.due == expected_due, "the invoice's due is not what the ledger says"
        if invoice.status == InvoiceStatus.ROLLED_BACK:
            assert paid == 0
            net = LedgerEntry.objects.filter(invoice=invoice).aggregate(s=Sum("amount"))["s"]
            assert net in (None, ZERO)
    for patient in patients:
        money = ledger.balance_of(patient)
        assert money.debt >= 0
        expected_debt = sum(
            (i.total - ledger.paid_on(i) for i in Invoice.objects.filter(patient=patient).issued()),
            ZERO,
        )
        assert money.debt == expected_debt


def _run(operations, branch, user, patients) -> None:
    """Apply the operations (refused ones change nothing), checking after each."""
    for name, amount, index in operations:
        invoices = list(Invoice.objects.filter(patient__in=patients).order_by("pk"))
        payments = list(Payment.objects.filter(patient__in=patients).order_by("pk"))
        try:
            with transaction.atomic():
                if name == "issue":
                    who = _pick(patients, index)
                    invoice = services.invoice_create(
                        patient=who,
                        branch=branch,
                        by=user,
                        lines=[services.LineInput(service=service(str(max(amount, ZERO))))],
                    )
                    services.invoice_issue(invoice=invoice, by=user)
                elif name in ("pay", "pay_deposit") and invoices:
                    services.invoice_pay(
                        invoice=_pick(invoices, index),
                        amount=amount,
                        method=cash() if name == "pay" else None,
                        by=user,
                    )
                elif name == "top_up":
                    services.deposit_top_up(
                        patient=_pick(patients, index),
                        amount=amount,
                        method=cash(),
                        branch=branch,
                        by=user,
                    )
                elif name == "withdraw":
                    services.deposit_withdraw(
                        patient=_pick(patients, index),
                        amount=amount,
                        method=cash(),
                        branch=branch,
                        by=user,
                    )
                elif name == "rollback_payment" and payments:
                    services.payment_rollback(payment=_pick(payments, index), by=user, reason="r")
                elif name == "refund" and payments:
                    services.payment_refund(
                        payment=_pick(payments, index), amount=amount, by=user, reason="r"
                    )
                elif name == "rollback_invoice" and invoices:
                    services.invoice_rollback(invoice=_pick(invoices, index), by=user, reason="r")
        except ValidationError:
            pass
        _check_invariants(patients)


def _example(operations, branch, user, *, family: bool) -> None:
    with transaction.atomic():
        shared = Family.objects.create(name="Семья") if family else None
        patients = [PatientFactory(family=shared), PatientFactory(family=shared)]
        _run(operations, branch, user, patients)
        transaction.set_rollback(True)


@SETTINGS
@given(operations=operations)
def test_random_operations_keep_the_ledger_consistent(branch, admin_persona, operations):
    _example(operations, branch, admin_persona.user, family=False)


@SETTINGS
@given(operations=operations)
def test_random_operations_with_auto_distribution_and_a_shared_family_deposit(
    branch, admin_persona, operations
):
    with transaction.atomic():
        preferences.preferences_set(
            values={ledger.AUTO_DISTRIBUTE: True, ledger.FAMILY_SHARED_DEPOSIT: True},
            by=admin_persona.user,
        )
        _example(operations, branch, admin_persona.user, family=True)
        transaction.set_rollback(True)


money_moves = st.lists(
    st.tuples(st.sampled_from(["top_up", "withdraw", "pay", "pay_deposit"]), amounts),
    min_size=1,
    max_size=20,
)


@SETTINGS
@given(moves=money_moves)
def test_the_debt_and_deposit_follow_a_plain_model_of_the_operations(branch, admin_persona, moves):
    """One invoice of 10,000 and a patient's deposit: each accepted operation changes the
    debt and the deposit exactly as a cashier would count it; a refused one changes nothing."""
    user = admin_persona.user
    with transaction.atomic():
        patient = PatientFactory()
        invoice = services.invoice_create(
            patient=patient,
            branch=branch,
            by=user,
            lines=[services.LineInput(service=service("10000.00"))],
        )
        services.invoice_issue(invoice=invoice, by=user)
        debt, deposit = D("10000.00"), ZERO
        for name, amount in moves:
            try:
                with transaction.atomic():
                    if name == "top_up":
                        services.deposit_top_up(
                            patient=patient, amount=amount, method=cash(), branch=branch, by=user
                        )
                        deposit += amount
                    elif name == "withdraw":
                        services.deposit_withdraw(
                            patient=patient, amount=amount, method=cash(), branch=branch, by=user
                        )
                        deposit -= amount
                    elif name == "pay":
                        services.invoice_pay(invoice=invoice, amount=amount, method=cash(), by=user)
                        debt -= amount
                    else:
                        services.invoice_pay(invoice=invoice, amount=amount, by=user)
                        debt -= amount
                        deposit -= amount
            except ValidationError:
                pass
            money = ledger.balance_of(patient)
            assert (money.debt, money.deposit) == (debt, deposit)
            assert debt >= 0 and deposit >= 0
            assert (
                money.balance
                == LedgerEntry.objects.filter(account__patient=patient).aggregate(s=Sum("amount"))[
                    "s"
                ]
            )
        transaction.set_rollback(True)
