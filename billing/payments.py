"""Payments and the deposit: pay an invoice (by a method or from the deposit), roll a payment
back, refund it, put money on the deposit and take it off.

Every function here is one transaction that first locks the patient's accounts and the
invoices it may touch (``ledger.lock``: accounts by id, then invoices by id), then reads the
sums from the ledger, so two cashiers paying one invoice, or spending one deposit, at once
are served one after the other and the second sees what the first did.

Overpayment: without the setting ``billing.auto_distribute`` paying more than an invoice's
due is refused; with it, what is left pays the patient's oldest unpaid invoices, and the
rest goes to the deposit. A deposit top-up with the setting pays the oldest debts first.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import ledger
from billing.models import (
    Account,
    EntryKind,
    Invoice,
    InvoiceStatus,
    LedgerEntry,
    Payment,
    PaymentMethod,
)
from clinic import audit, events, preferences
from clinic.models import Branch
from clinic.money import format_money, round_money
from patients.models import Patient

ZERO = Decimal("0.00")
AMOUNT_MAX = Decimal("9999999999.99")


def positive_amount(amount: Decimal | int | str | None) -> Decimal:
    """The amount rounded to kopecks; zero, negative or absurd amounts are refused."""
    if amount is None:
        raise ValidationError(_("Enter an amount."), code="amount")
    value = round_money(amount)
    if value <= 0:
        raise ValidationError(_("An amount must be more than zero."), code="amount")
    if value > AMOUNT_MAX:
        raise ValidationError(_("The amount is too large."), code="amount")
    return value


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give a reason."), code="reason")
    return reason[:300]


def _money(value: Decimal) -> str:
    return format_money(value)


def auto_distribute() -> bool:
    return bool(preferences.get(ledger.AUTO_DISTRIBUTE))


def _open_invoices(patient: Patient) -> list[Invoice]:
    """The patient's issued invoices, oldest first (those with nothing due are skipped later)."""
    return list(
        Invoice.objects.filter(patient=patient, status=InvoiceStatus.ISSUED).order_by(
            "issued_at", "pk"
        )
    )


def _payment_payload(payment: Payment, **extra) -> dict:
    return {
        "patient_id": payment.patient_id,
        "payment_id": payment.pk,
        "invoice_id": payment.invoice_id,
        "number": payment.invoice.number if payment.invoice_id else None,  # type: ignore[union-attr]
        "amount": payment.amount,
        "method": payment.method.name if payment.method_id else "",  # type: ignore[union-attr]
        "from_deposit": payment.method_id is None,
        "branch_id": payment.branch_id,
        **extra,
    }


def _record(payment: Payment, by) -> None:
    audit.record_created(
        actor=by,
        obj=payment,
        patient_id=payment.patient_id,
        fields=("invoice", "method", "amount"),
    )


def _pay_by_method(
    invoice: Invoice, amount: Decimal, method: PaymentMethod, by, account: Account
) -> Payment:
    payment = Payment.objects.create(
        patient=invoice.patient,
        invoice=invoice,
        branch=invoice.branch,
        method=method,
        amount=amount,
        received_by=by,
    )
    ledger.post(
        account=account,
        patient=invoice.patient,
        kind=EntryKind.PAYMENT,
        amount=amount,
        invoice=invoice,
        payment=payment,
        method=method,
        branch=invoice.branch,
        created_by=by,
    )
    _record(payment, by)
    events.publish("payment.received", payment, _payment_payload(payment), actor=by)
    return payment


def _to_deposit(
    patient: Patient, amount: Decimal, method: PaymentMethod, branch: Branch, by
) -> Payment:
    payment = Payment.objects.create(
        patient=patient, branch=branch, method=method, amount=amount, received_by=by
    )
    ledger.post(
        account=ledger.deposit_target(patient),
        patient=patient,
        kind=EntryKind.DEPOSIT,
        amount=amount,
        payment=payment,
        method=method,
        branch=branch,
        created_by=by,
    )
    _record(payment, by)
    events.publish("deposit.received", payment, _payment_payload(payment), actor=by)
    return payment


def _distribute(
    patient: Patient,
    amount: Decimal,
    method: PaymentMethod,
    branch: Branch,
    by,
    invoices: list[Invoice],
    account: Account,
) -> list[Payment]:
    """``amount`` pays ``invoices`` oldest first; what is left goes to the deposit."""
    payments = []
    paid = ledger.paid_sums([invoice.pk for invoice in invoices])
    for invoice in invoices:
        due = invoice.total - paid.get(invoice.pk, ZERO)
        if amount <= 0:
            break
        if due <= 0:
            continue
        part = min(amount, due)
        payments.append(_pay_by_method(invoice, part, method, by, account))
        amount -= part
    if amount > 0:
        payments.append(_to_deposit(patient, amount, method, branch, by))
    return payments


def _draw_deposit(accounts: list[Account], amount: Decimal) -> list[tuple[Account, Decimal]]:
    """Take ``amount`` from the accounts' deposits in order; refused if they hold less."""
    sums = ledger.account_sums(accounts)
    available = sum((sums[a.pk].deposit for a in accounts), ZERO)
    if amount > available:
        raise ValidationError(
            _("The deposit holds %(available)s, less than %(amount)s.")
            % {"available": _money(available), "amount": _money(amount)},
            code="deposit_short",
        )
    parts = []
    for account in accounts:
        part = min(amount, max(sums[account.pk].deposit, ZERO))
        if part > 0:
            parts.append((account, part))
            amount -= part
    return parts


def invoice_pay(
    *, invoice: Invoice, amount: Decimal, by, method: PaymentMethod | None = None
) -> list[Payment]:
    """Pay the invoice by ``method``, or from the deposit when ``method`` is None. Returns the
    payments made (more than one when an overpayment is distributed)."""
    amount = positive_amount(amount)
    patient = invoice.patient
    with transaction.atomic():
        accounts = ledger.deposit_accounts(patient)
        auto = auto_distribute() and method is not None
        others = [i for i in _open_invoices(patient) if i.pk != invoice.pk] if auto else []
        ledger.lock(accounts, [invoice, *others])
        invoice.refresh_from_db()
        for other in others:  # rolled back meanwhile?
            other.refresh_from_db()
        others = [other for other in others if other.is_issued]
        if not invoice.is_issued:
            raise ValidationError(_("Only an issued invoice is paid."), code="not_issued")
        due = ledger.due_on(invoice)
        if due <= 0:
            raise ValidationError(_("This invoice is paid in full."), code="paid")
        if amount > due and not auto:
            raise ValidationError(
                _(
                    "%(amount)s is more than the %(due)s due on this invoice. Take %(due)s, or "
                    "put the rest on the deposit."
                )
                % {"amount": _money(amount), "due": _money(due)},
                code="overpayment",
            )
        own = accounts[0]
        if method is None:
            return [_pay_from_deposit(invoice, amount, accounts, by)]
        payments = [_pay_by_method(invoice, min(amount, due), method, by, own)]
        rest = amount - min(amount, due)
        if rest > 0:
            payments += _distribute(patient, rest, method, invoice.branch, by, others, own)
    return payments


def _pay_from_deposit(invoice: Invoice, amount: Decimal, accounts: list[Account], by) -> Payment:
    parts = _draw_deposit(accounts, amount)
    payment = Payment.objects.create(
        patient=invoice.patient,
        invoice=invoice,
        branch=invoice.branch,
        method=None,
        amount=amount,
        received_by=by,
    )
    ledger.post(
        account=accounts[0],
        patient=invoice.patient,
        kind=EntryKind.PAYMENT,
        amount=amount,
        invoice=invoice,
        payment=payment,
        branch=invoice.branch,
        created_by=by,
    )
    for account, part in parts:
        ledger.post(
            account=account,
            patient=invoice.patient,
            kind=EntryKind.PAYMENT,
            amount=-part,
            payment=payment,
            branch=invoice.branch,
            created_by=by,
        )
    _record(payment, by)
    events.publish("payment.received", payment, _payment_payload(payment), actor=by)
    return payment


def deposit_top_up(
    *, patient: Patient, amount: Decimal, method: PaymentMethod, branch: Branch, by
) -> list[Payment]:
    """Money on the patient's deposit (the family's, when shared). With auto-distribution it
    pays the oldest debts first."""
    amount = positive_amount(amount)
    with transaction.atomic():
        accounts = ledger.deposit_accounts(patient)
        auto = auto_distribute()
        invoices = _open_invoices(patient) if auto else []
        ledger.lock(accounts, invoices)
        if not auto:
            return [_to_deposit(patient, amount, method, branch, by)]
        for invoice in invoices:
            invoice.refresh_from_db()
        invoices = [i for i in invoices if i.is_issued]
        return _distribute(patient, amount, method, branch, by, invoices, accounts[0])


def deposit_withdraw(
    *, patient: Patient, amount: Decimal, method: PaymentMethod, branch: Branch, by, reason=""
) -> list[LedgerEntry]:
    """Give deposit money back to the patient; never more than the deposit holds."""
    amount = positive_amount(amount)
    with transaction.atomic():
        accounts = ledger.deposit_accounts(patient)
        ledger.lock(accounts)
        entries = [
            ledger.post(
                account=account,
                patient=patient,
                kind=EntryKind.WITHDRAWAL,
                amount=-part,
                method=method,
                branch=branch,
                reason=(reason or "")[:300],
                created_by=by,
            )
            for account, part in _draw_deposit(accounts, amount)
        ]
        audit.record(
            actor=by,
            action="create",
            obj=entries[0],
            patient_id=patient.pk,
            changes={"withdrawal": [None, amount], "method": [None, method.name]},
        )
        events.publish(
            "deposit.withdrawn",
            entries[0],
            {
                "patient_id": patient.pk,
                "amount": amount,
                "method": method.name,
                "branch_id": branch.pk,
                "reason": reason or "",
            },
            actor=by,
        )
    return entries


def _lock_for(payment: Payment) -> list[Account]:
    accounts = ledger.deposit_accounts(payment.patient)
    # The accounts this payment drew on (a family may have stopped sharing since).
    drawn = Account.objects.filter(entries__payment=payment).exclude(
        pk__in=[a.pk for a in accounts]
    )
    accounts += list(drawn.distinct())
    ledger.lock(accounts, [payment.invoice] if payment.invoice_id else [])  # type: ignore[list-item]
    payment.refresh_from_db()
    return accounts


def payment_rollback(*, payment: Payment, by, reason: str) -> Payment:
    """Undo a payment taken by mistake: the invoice owes it again; money taken from the
    deposit goes back there; a deposit top-up is rolled back only while the deposit still
    holds it."""
    reason = _reason(reason)
    with transaction.atomic():
        _lock_for(payment)
        if payment.is_rolled_back:
            raise ValidationError(_("This payment is already rolled back."), code="rolled_back")
        if ledger.refunded_on(payment) > 0:
            raise ValidationError(
                _("Part of this payment was refunded; it cannot be rolled back."),
                code="refunded",
            )
        entries = list(LedgerEntry.objects.filter(payment=payment).select_related("account"))
        if payment.invoice_id is None:
            account = entries[0].account
            if ledger.deposit_of(account) < payment.amount:
                raise ValidationError(
                    _("The deposit no longer holds %(amount)s: it has been spent.")
                    % {"amount": _money(payment.amount)},
                    code="deposit_spent",
                )
        for entry in entries:
            ledger.post(
                account=entry.account,
                patient=payment.patient,
                kind=EntryKind.ROLLBACK,
                amount=-entry.amount,
                invoice=entry.invoice,
                payment=payment,
                method=entry.method,
                branch=payment.branch,
                reason=reason,
                created_by=by,
            )
        payment.rolled_back_at = timezone.now()
        payment.rolled_back_by = by
        payment.rollback_reason = reason
        payment.save(update_fields=["rolled_back_at", "rolled_back_by", "rollback_reason"])
        audit.record(
            actor=by,
            action="update",
            obj=payment,
            patient_id=payment.patient_id,
            changes={"rolled_back": [False, True], "reason": [None, reason]},
        )
        events.publish(
            "payment.rolled_back", payment, _payment_payload(payment, reason=reason), actor=by
        )
    return payment


def payment_refund(
    *,
    payment: Payment,
    amount: Decimal,
    by,
    reason: str,
    method: PaymentMethod | None = None,
) -> LedgerEntry:
    """Give (part of) an invoice payment back: by ``method`` (the payment's own by default)
    for money taken at the till, to the deposit for money taken from it. The invoice owes
    the refunded amount again."""
    amount = positive_amount(amount)
    reason = _reason(reason)
    with transaction.atomic():
        accounts = _lock_for(payment)
        if payment.invoice_id is None:
            raise ValidationError(
                _("Deposit money is given back by a withdrawal, not a refund."), code="deposit"
            )
        if payment.is_rolled_back:
            raise ValidationError(_("This payment is rolled back."), code="rolled_back")
        left = payment.amount - ledger.refunded_on(payment)
        if amount > left:
            raise ValidationError(
                _("At most %(left)s of this payment can be refunded.") % {"left": _money(left)},
                code="refund_too_large",
            )
        invoice = payment.invoice
        assert invoice is not None
        out_method = None if payment.from_deposit else (method or payment.method)
        entry = ledger.post(
            account=accounts[0],
            patient=payment.patient,
            kind=EntryKind.REFUND,
            amount=-amount,
            invoice=invoice,
            payment=payment,
            method=out_method,
            branch=payment.branch,
            reason=reason,
            created_by=by,
        )
        if payment.from_deposit:
            ledger.post(
                account=ledger.deposit_target(payment.patient),
                patient=payment.patient,
                kind=EntryKind.REFUND,
                amount=amount,
                payment=payment,
                branch=payment.branch,
                reason=reason,
                created_by=by,
            )
        audit.record(
            actor=by,
            action="update",
            obj=payment,
            patient_id=payment.patient_id,
            changes={"refunded": [None, amount], "reason": [None, reason]},
        )
        events.publish(
            "payment.refunded",
            payment,
            _payment_payload(payment, refunded=amount, reason=reason),
            actor=by,
        )
    return entry
