"""The billing services with their bad inputs: invoices from visits, plans and services,
discounts and their rounding, issuing, paying, overpaying, the deposit, rollbacks, refunds."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import ledger, services
from billing.amounts import DiscountAsked, spread
from billing.models import (
    AppendOnlyError,
    EntryKind,
    Invoice,
    InvoiceStatus,
    LedgerEntry,
)
from clinic.models import AuditEntry, OutboxEvent
from patients.models import Family
from patients.tests.factories import PatientFactory

from .factories import (
    approved_plan,
    card,
    cash,
    completed_visit,
    issued_invoice,
    service,
)

pytestmark = pytest.mark.django_db

D = Decimal


def money(patient):
    return ledger.balance_of(patient)


# --- Rounding ------------------------------------------------------------------------------


def test_a_whole_invoice_discount_is_spread_in_proportion_with_the_kopecks_on_the_largest():
    assert spread(D("10.00"), [D("33.33"), D("33.33"), D("33.34")]) == [
        D("3.33"),
        D("3.33"),
        D("3.34"),
    ]
    shares = spread(D("1.00"), [D("1.00"), D("1.00"), D("1.00")])
    assert sum(shares) == D("1.00")
    assert shares == [D("0.34"), D("0.33"), D("0.33")]


def test_a_discount_of_almost_everything_never_takes_a_line_below_zero():
    bases = [D("0.01"), D("0.01"), D("0.01"), D("100.00")]
    shares = spread(D("100.02"), bases)
    assert sum(shares) == D("100.02")
    assert all(D(0) <= s <= b for s, b in zip(shares, bases, strict=True))


def test_line_and_invoice_discounts_are_rounded_per_line(branch, admin_persona):
    user = admin_persona.user
    invoice = services.invoice_create(
        patient=PatientFactory(),
        branch=branch,
        by=user,
        lines=[
            services.LineInput(
                service=service("333.33"), quantity=3, discount=DiscountAsked(percent=D("15"))
            ),
            services.LineInput(service=service("100.00"), discount=DiscountAsked(amount=D("10"))),
        ],
        discount=DiscountAsked(percent=D("10")),
    )
    first, second = invoice.lines.all()
    assert first.amount == D("999.99")
    assert first.discount == D("150.00")  # 149.9985 rounded half up
    assert first.discount_label == "15%"
    assert second.discount == D("10.00")
    # 10% of 849.99 + 90.00 = 93.999 -> 94.00, spread 84.999.. : 9.00
    assert first.invoice_discount + second.invoice_discount == D("94.00")
    assert invoice.total == first.total + second.total
    assert invoice.total == invoice.subtotal - invoice.discount_total


def test_a_discount_larger_than_the_line_is_refused(branch, admin_persona):
    with pytest.raises(ValidationError, match="larger than the amount"):
        services.invoice_create(
            patient=PatientFactory(),
            branch=branch,
            by=admin_persona.user,
            lines=[
                services.LineInput(service=service("100.00"), discount=DiscountAsked(amount=D(101)))
            ],
        )


@pytest.mark.parametrize("percent", ["-1", "100.01"])
def test_a_discount_percent_outside_0_100_is_refused(percent):
    with pytest.raises(ValidationError):
        DiscountAsked(percent=D(percent))


def test_the_price_comes_from_the_price_list_when_not_given(branch, admin_persona):
    invoice = services.invoice_create(
        patient=PatientFactory(),
        branch=branch,
        by=admin_persona.user,
        lines=[services.LineInput(service=service("2500.00"), quantity=2)],
    )
    assert invoice.total == D("5000.00")


@pytest.mark.parametrize("quantity", [0, -1, 1000])
def test_a_bad_quantity_is_refused(branch, admin_persona, quantity):
    with pytest.raises(ValidationError, match="quantity"):
        services.invoice_create(
            patient=PatientFactory(),
            branch=branch,
            by=admin_persona.user,
            lines=[services.LineInput(service=service(), quantity=quantity)],
        )


def test_an_empty_invoice_is_refused(branch, admin_persona):
    with pytest.raises(ValidationError, match="at least one service"):
        services.invoice_create(
            patient=PatientFactory(), branch=branch, by=admin_persona.user, lines=[]
        )


# --- From a visit, from a plan -------------------------------------------------------------


def test_an_invoice_from_a_completed_visit_bills_its_services_once(branch, admin_persona):
    visit = completed_visit(branch, admin_persona.employee, prices=("1500.00", "700.00"))
    invoice = services.invoice_create_from_visit(appointment=visit, by=admin_persona.user)
    assert invoice.total == D("2200.00")
    assert {line.doctor_id for line in invoice.lines.all()} == {admin_persona.employee.pk}
    assert invoice.lines.filter(appointment_service__isnull=False).count() == 2
    with pytest.raises(ValidationError, match="Already on another invoice"):
        services.invoice_create_from_visit(appointment=visit, by=admin_persona.user)


def test_an_invoice_from_a_visit_not_completed_is_refused(branch, admin_persona):
    visit = completed_visit(branch, admin_persona.employee)
    visit.status = "planned"
    visit.save(update_fields=["status"])
    with pytest.raises(ValidationError, match="completed visit"):
        services.invoice_create_from_visit(appointment=visit, by=admin_persona.user)


def test_an_invoice_from_an_approved_plan_whole_or_chosen_lines(branch, admin_persona):
    plan = approved_plan(branch, admin_persona, prices=("1000.00", "2000.00", "3000.00"))
    line_ids = list(plan.lines.order_by("pk").values_list("pk", flat=True))
    chosen = services.invoice_create_from_plan(
        plan=plan, by=admin_persona.user, line_ids=line_ids[:2]
    )
    assert chosen.total == D("3000.00")
    rest = services.invoice_create_from_plan(
        plan=plan, by=admin_persona.user, line_ids=line_ids[2:]
    )
    assert rest.total == D("3000.00")
    with pytest.raises(ValidationError, match="Already on another invoice"):
        services.invoice_create_from_plan(plan=plan, by=admin_persona.user)


def test_an_invoice_from_a_draft_plan_is_refused_with_a_clear_message(branch, admin_persona):
    plan = approved_plan(branch, admin_persona, approve=False)
    with pytest.raises(ValidationError, match="cannot be made from a draft plan"):
        services.invoice_create_from_plan(plan=plan, by=admin_persona.user)


def test_plan_lines_of_another_plan_are_refused(branch, admin_persona):
    plan = approved_plan(branch, admin_persona)
    other = approved_plan(branch, admin_persona)
    with pytest.raises(ValidationError, match="not in this plan"):
        services.invoice_create_from_plan(
            plan=plan, by=admin_persona.user, line_ids=[other.lines.get().pk]
        )


# --- Issue, rollback ------------------------------------------------------------------------


def test_issuing_numbers_without_gaps_per_branch_and_puts_the_debt_on_the_ledger(
    branch, branch_elsewhere, admin_persona
):
    patient = PatientFactory()
    first = issued_invoice(branch, admin_persona.user, patient, prices=("1000.00",))
    second = issued_invoice(branch, admin_persona.user, patient, prices=("500.00",))
    elsewhere = issued_invoice(branch_elsewhere, admin_persona.user, patient)
    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)
    assert money(patient).debt == D("1500.00") + elsewhere.total
    assert OutboxEvent.objects.filter(name="invoice.issued").count() == 3
    event = OutboxEvent.objects.filter(name="invoice.issued").first()
    assert event.payload["patient_id"] == patient.pk
    with pytest.raises(ValidationError, match="Only a draft"):
        services.invoice_issue(invoice=first, by=admin_persona.user)


def test_rolling_back_an_unpaid_invoice_clears_its_debt(branch, admin_persona):
    invoice = issued_invoice(branch, admin_persona.user)
    services.invoice_rollback(invoice=invoice, by=admin_persona.user, reason="Ошибка в счёте")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ROLLED_BACK
    assert money(invoice.patient).debt == 0
    assert AuditEntry.objects.filter(object_id=str(invoice.pk), action="update").exists()


def test_a_paid_invoice_is_not_rolled_back_until_its_payments_are(branch, admin_persona):
    user = admin_persona.user
    invoice = issued_invoice(branch, user)
    [payment] = services.invoice_pay(invoice=invoice, amount=D("300"), method=cash(), by=user)
    with pytest.raises(ValidationError, match="roll back or refund its payments first"):
        services.invoice_rollback(invoice=invoice, by=user, reason="ошибка")
    services.payment_rollback(payment=payment, by=user, reason="не та сумма")
    services.invoice_rollback(invoice=invoice, by=user, reason="ошибка")
    assert money(invoice.patient).balance == 0


def test_a_rollback_needs_a_reason(branch, admin_persona):
    invoice = issued_invoice(branch, admin_persona.user)
    with pytest.raises(ValidationError, match="Say why"):
        services.invoice_rollback(invoice=invoice, by=admin_persona.user, reason="  ")


def test_a_draft_is_discarded_and_an_issued_invoice_is_not(branch, admin_persona):
    user = admin_persona.user
    draft = services.invoice_create(
        patient=PatientFactory(), branch=branch, by=user, lines=[services.LineInput(service())]
    )
    services.invoice_discard(invoice=draft, by=user)
    assert not Invoice.objects.filter(pk=draft.pk).exists()
    issued = issued_invoice(branch, user)
    with pytest.raises(ValidationError, match="rolled back, not deleted"):
        services.invoice_discard(invoice=issued, by=user)


# --- Payments ---------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["0", "-10", "0.001", None])
def test_zero_or_negative_amounts_are_refused(branch, admin_persona, amount):
    invoice = issued_invoice(branch, admin_persona.user)
    with pytest.raises(ValidationError):
        services.invoice_pay(
            invoice=invoice,
            amount=None if amount is None else D(amount),
            method=cash(),
            by=admin_persona.user,
        )
    with pytest.raises(ValidationError):
        services.deposit_top_up(
            patient=invoice.patient,
            amount=None if amount is None else D(amount),
            method=cash(),
            branch=branch,
            by=admin_persona.user,
        )


def test_paying_in_parts_until_the_debt_is_zero(branch, admin_persona):
    user = admin_persona.user
    invoice = issued_invoice(branch, user, prices=("1000.00",))
    services.invoice_pay(invoice=invoice, amount=D("400"), method=card(), by=user)
    assert ledger.due_on(invoice) == D("600.00")
    services.invoice_pay(invoice=invoice, amount=D("600"), method=cash(), by=user)
    assert ledger.due_on(invoice) == 0
    assert money(invoice.patient).debt == 0
    with pytest.raises(ValidationError, match="paid in full"):
        services.invoice_pay(invoice=invoice, amount=D("1"), method=cash(), by=user)
    names = list(OutboxEvent.objects.filter(name="payment.received").values_list("name", flat=True))
    assert len(names) == 2


def test_paying_more_than_owed_without_auto_distribution_is_refused(branch, admin_persona):
    invoice = issued_invoice(branch, admin_persona.user, prices=("1000.00",))
    with pytest.raises(ValidationError) as refused:
        services.invoice_pay(
            invoice=invoice, amount=D("1000.01"), method=cash(), by=admin_persona.user
        )
    assert "is more than the 1\u00a0000,00 due" in refused.value.messages[0]
    assert not LedgerEntry.objects.filter(kind=EntryKind.PAYMENT).exists()


def test_a_draft_is_not_paid(branch, admin_persona):
    draft = services.invoice_create(
        patient=PatientFactory(),
        branch=branch,
        by=admin_persona.user,
        lines=[services.LineInput(service())],
    )
    with pytest.raises(ValidationError, match="Only an issued"):
        services.invoice_pay(invoice=draft, amount=D("1"), method=cash(), by=admin_persona.user)


def test_an_overpayment_with_auto_distribution_pays_the_oldest_debts_then_the_deposit(
    branch, admin_persona, auto_distribute
):
    user = admin_persona.user
    patient = PatientFactory()
    oldest = issued_invoice(branch, user, patient, prices=("300.00",))
    middle = issued_invoice(branch, user, patient, prices=("200.00",))
    newest = issued_invoice(branch, user, patient, prices=("1000.00",))
    payments = services.invoice_pay(invoice=newest, amount=D("1600"), method=cash(), by=user)
    assert [p.invoice_id for p in payments] == [newest.pk, oldest.pk, middle.pk, None]
    assert [p.amount for p in payments] == [D("1000.00"), D("300.00"), D("200.00"), D("100.00")]
    assert money(patient).debt == 0
    assert money(patient).deposit == D("100.00")


def test_a_top_up_with_auto_distribution_pays_the_oldest_debts_first(
    branch, admin_persona, auto_distribute
):
    user = admin_persona.user
    patient = PatientFactory()
    oldest = issued_invoice(branch, user, patient, prices=("300.00",))
    issued_invoice(branch, user, patient, prices=("1000.00",))
    payments = services.deposit_top_up(
        patient=patient, amount=D("500"), method=cash(), branch=branch, by=user
    )
    assert payments[0].invoice_id == oldest.pk
    assert money(patient).debt == D("800.00")
    assert money(patient).deposit == 0


def test_paying_from_the_deposit(branch, admin_persona):
    user = admin_persona.user
    invoice = issued_invoice(branch, user, prices=("1000.00",))
    patient = invoice.patient
    services.deposit_top_up(patient=patient, amount=D("700"), method=cash(), branch=branch, by=user)
    with pytest.raises(ValidationError, match="deposit holds 700,00"):
        services.invoice_pay(invoice=invoice, amount=D("800"), by=user)
    services.invoice_pay(invoice=invoice, amount=D("700"), by=user)
    assert money(patient).deposit == 0
    assert money(patient).debt == D("300.00")
    assert money(patient).balance == D("-300.00")


def test_a_withdrawal_larger_than_the_deposit_is_refused(branch, admin_persona):
    user = admin_persona.user
    patient = PatientFactory()
    services.deposit_top_up(patient=patient, amount=D("500"), method=cash(), branch=branch, by=user)
    with pytest.raises(ValidationError, match="less than 500,01"):
        services.deposit_withdraw(
            patient=patient, amount=D("500.01"), method=cash(), branch=branch, by=user
        )
    services.deposit_withdraw(
        patient=patient, amount=D("500"), method=cash(), branch=branch, by=user
    )
    assert money(patient).deposit == 0
    assert OutboxEvent.objects.filter(name="deposit.withdrawn").count() == 1


def test_rolling_back_a_deposit_payment_returns_the_money_to_the_deposit(branch, admin_persona):
    user = admin_persona.user
    invoice = issued_invoice(branch, user, prices=("1000.00",))
    services.deposit_top_up(
        patient=invoice.patient, amount=D("1000"), method=cash(), branch=branch, by=user
    )
    [payment] = services.invoice_pay(invoice=invoice, amount=D("1000"), by=user)
    services.payment_rollback(payment=payment, by=user, reason="ошибка")
    assert money(invoice.patient).deposit == D("1000.00")
    assert money(invoice.patient).debt == D("1000.00")
    with pytest.raises(ValidationError, match="already rolled back"):
        services.payment_rollback(payment=payment, by=user, reason="ещё раз")


def test_a_spent_top_up_is_not_rolled_back(branch, admin_persona):
    user = admin_persona.user
    invoice = issued_invoice(branch, user, prices=("1000.00",))
    [top_up] = services.deposit_top_up(
        patient=invoice.patient, amount=D("1000"), method=cash(), branch=branch, by=user
    )
    services.invoice_pay(invoice=invoice, amount=D("600"), by=user)
    with pytest.raises(ValidationError, match="has been spent"):
        services.payment_rollback(payment=top_up, by=user, reason="ошибка")


def test_a_refund_gives_back_at_most_what_was_paid(branch, admin_persona):
    user = admin_persona.user
    invoice = issued_invoice(branch, user, prices=("1000.00",))
    [payment] = services.invoice_pay(invoice=invoice, amount=D("1000"), method=card(), by=user)
    services.payment_refund(payment=payment, amount=D("400"), by=user, reason="отказ от услуги")
    assert ledger.due_on(invoice) == D("400.00")
    with pytest.raises(ValidationError, match="At most 600,00"):
        services.payment_refund(payment=payment, amount=D("601"), by=user, reason="ещё")
    with pytest.raises(ValidationError, match="was refunded"):
        services.payment_rollback(payment=payment, by=user, reason="ошибка")
    refund = LedgerEntry.objects.get(kind=EntryKind.REFUND)
    assert refund.method_id == payment.method_id and refund.amount == D("-400.00")
    assert OutboxEvent.objects.get(name="payment.refunded").payload["patient_id"] == (
        invoice.patient_id
    )


def test_a_deposit_top_up_is_withdrawn_not_refunded(branch, admin_persona):
    user = admin_persona.user
    [top_up] = services.deposit_top_up(
        patient=PatientFactory(), amount=D("100"), method=cash(), branch=branch, by=user
    )
    with pytest.raises(ValidationError, match="withdrawal"):
        services.payment_refund(payment=top_up, amount=D("100"), by=user, reason="x")


def test_a_family_shares_one_deposit_when_the_setting_says_so(branch, admin_persona, family_shared):
    user = admin_persona.user
    family = Family.objects.create(name="Ивановы")
    mother = PatientFactory(family=family)
    son = PatientFactory(family=family)
    services.deposit_top_up(patient=mother, amount=D("1000"), method=cash(), branch=branch, by=user)
    assert money(son).deposit == D("1000.00")
    invoice = issued_invoice(branch, user, son, prices=("600.00",))
    services.invoice_pay(invoice=invoice, amount=D("600"), by=user)
    assert money(mother).deposit == D("400.00")
    assert money(son).debt == 0 and money(mother).debt == 0


def test_without_the_setting_a_family_member_does_not_see_the_others_deposit(branch, admin_persona):
    family = Family.objects.create(name="Петровы")
    mother = PatientFactory(family=family)
    son = PatientFactory(family=family)
    services.deposit_top_up(
        patient=mother, amount=D("1000"), method=cash(), branch=branch, by=admin_persona.user
    )
    assert money(son).deposit == 0


# --- The ledger is append-only -------------------------------------------------------------


def test_ledger_entries_are_never_changed_or_deleted(branch, admin_persona):
    invoice = issued_invoice(branch, admin_persona.user)
    entry = LedgerEntry.objects.get(invoice=invoice)
    entry.amount = D("1")
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=D("1"))
    with pytest.raises(AppendOnlyError):
        LedgerEntry.objects.filter(pk=entry.pk).delete()


def test_auto_distribution_skips_rolled_back_and_paid_invoices(
    branch, admin_persona, auto_distribute
):
    user = admin_persona.user
    patient = PatientFactory()
    gone = issued_invoice(branch, user, patient, prices=("300.00",))
    services.invoice_rollback(invoice=gone, by=user, reason="ошибка")
    paid = issued_invoice(branch, user, patient, prices=("100.00",))
    services.invoice_pay(invoice=paid, amount=D("100"), method=cash(), by=user)
    newest = issued_invoice(branch, user, patient, prices=("1000.00",))
    payments = services.invoice_pay(invoice=newest, amount=D("1500"), method=cash(), by=user)
    assert [p.invoice_id for p in payments] == [newest.pk, None]
    assert money(patient).deposit == D("500.00")
    assert ledger.paid_on(gone) == 0


def test_a_discount_chosen_by_the_discounts_engine_is_stored_on_the_line(branch, admin_persona):
    from types import SimpleNamespace

    applied = SimpleNamespace(amount=D("150.00"), discount_id=7, name="Пенсионная 15%")
    invoice = services.invoice_create(
        patient=PatientFactory(),
        branch=branch,
        by=admin_persona.user,
        lines=[services.LineInput(service=service("1000.00"), chosen_discount=applied)],
    )
    line = invoice.lines.get()
    assert (line.discount, line.discount_ref, line.discount_label) == (
        D("150.00"),
        7,
        "Пенсионная 15%",
    )
    assert invoice.total == D("850.00")
