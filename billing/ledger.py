"""Accounts and the sums read from the ledger: what a patient owes, holds and the balance.

Nothing here writes but ``account_for`` (an account row, made the first time it is needed)
and ``post`` (a new ledger entry). ``lock`` takes the rows a money operation changes, always
in one order: the accounts by id, then the invoices by id (``clinic.db.lock_rows``), so two
operations on one invoice or one deposit wait for each other and never deadlock.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Case, DecimalField, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from billing.models import Account, EntryKind, Invoice, InvoiceStatus, LedgerEntry, Payment
from clinic import preferences
from clinic.db import lock_rows
from clinic.money import round_money
from patients.models import Patient

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=12, decimal_places=2)
FAMILY_SHARED_DEPOSIT = "billing.family_shared_deposit"
AUTO_DISTRIBUTE = "billing.auto_distribute"


@dataclass(frozen=True)
class Balance:
    debt: Decimal
    deposit: Decimal

    @property
    def balance(self) -> Decimal:
        return self.deposit - self.debt


def _account(**lookup) -> Account:
    account = Account.objects.filter(**lookup).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(**lookup)
    except IntegrityError:  # made meanwhile by another request
        return Account.objects.get(**lookup)


def account_for(patient: Patient) -> Account:
    """The patient's own account: their invoices, payments and own deposit."""
    return _account(patient=patient)


def family_shares_deposit(patient: Patient) -> bool:
    return bool(patient.family_id) and bool(preferences.get(FAMILY_SHARED_DEPOSIT))


def deposit_accounts(patient: Patient) -> list[Account]:
    """The accounts whose deposit the patient may spend, in the order they are drawn on:
    their own, then their family's when the family shares one."""
    accounts = [account_for(patient)]
    if family_shares_deposit(patient):
        accounts.append(_account(family_id=patient.family_id))
    return accounts


def deposit_target(patient: Patient) -> Account:
    """Where the patient's deposit money goes: the family's account when shared."""
    return deposit_accounts(patient)[-1]


def lock(accounts: Iterable[Account], invoices: Iterable[Invoice] = ()) -> None:
    account_ids = sorted({account.pk for account in accounts})
    invoice_ids = sorted({invoice.pk for invoice in invoices})
    targets: list = [(Account, account_ids)]
    if invoice_ids:
        targets.append((Invoice, invoice_ids))
    lock_rows(targets, fields=("id",))


def post(**fields) -> LedgerEntry:
    entry = LedgerEntry.objects.create(**fields)
    if entry.invoice_id:
        refresh_due([entry.invoice_id])
    return entry


def refresh_due(invoice_ids: list[int]) -> None:
    """Rewrite the invoices' ``due`` from the ledger (one UPDATE): the total less the sum of
    their payment entries while issued, 0 otherwise."""
    paid = (
        LedgerEntry.objects.filter(invoice=OuterRef("pk"), payment__isnull=False)
        .values("invoice")
        .annotate(paid=Sum("amount"))
        .values("paid")
    )
    Invoice.objects.filter(pk__in=invoice_ids).update(
        due=Case(
            When(
                status=InvoiceStatus.ISSUED,
                then=F("total") - Coalesce(Subquery(paid, output_field=MONEY), Value(ZERO)),
            ),
            default=Value(ZERO),
            output_field=MONEY,
        )
    )


# --- Reads -------------------------------------------------------------------------------

DEBT = Sum("amount", filter=Q(invoice__isnull=False), default=ZERO)
DEPOSIT = Sum("amount", filter=Q(invoice__isnull=True), default=ZERO)


def account_sums(accounts: Iterable[Account]) -> dict[int, Balance]:
    rows = (
        LedgerEntry.objects.filter(account__in=[a.pk for a in accounts])
        .values("account")
        .annotate(invoiced=DEBT, deposit=DEPOSIT)
        .order_by()
    )
    sums = {
        row["account"]: Balance(round_money(-row["invoiced"]), round_money(row["deposit"]))
        for row in rows
    }
    return {a.pk: sums.get(a.pk, Balance(ZERO, ZERO)) for a in accounts}


def balance_of(patient: Patient) -> Balance:
    """The patient's debt (over their invoices) and the deposit they may spend (their own and
    their family's when shared), in one query; reading makes no account."""
    condition = Q(account__patient=patient)
    if family_shares_deposit(patient):
        condition |= Q(account__family_id=patient.family_id)
    sums = LedgerEntry.objects.filter(condition).aggregate(
        owed=Sum("amount", filter=Q(invoice__isnull=False, account__patient=patient), default=ZERO),
        deposit=DEPOSIT,
    )
    return Balance(round_money(-sums["owed"]), round_money(sums["deposit"]))


def deposit_of(account: Account) -> Decimal:
    return account_sums([account])[account.pk].deposit


def paid_on(invoice: Invoice) -> Decimal:
    """What has been paid on the invoice: its payments, less their rollbacks and refunds."""
    paid = LedgerEntry.objects.filter(invoice=invoice, payment__isnull=False).aggregate(
        paid=Sum("amount", default=ZERO)
    )["paid"]
    return round_money(paid)


def due_on(invoice: Invoice) -> Decimal:
    if not invoice.is_issued:
        return ZERO
    return invoice.total - paid_on(invoice)


def refunded_on(payment: Payment) -> Decimal:
    """What of a payment went back to the patient (a positive amount)."""
    refunded = LedgerEntry.objects.filter(payment=payment, kind=EntryKind.REFUND).aggregate(
        total=Sum("amount", default=ZERO)
    )["total"]
    return round_money(-refunded)


def paid_sums(invoice_ids: list[int]) -> dict[int, Decimal]:
    rows = (
        LedgerEntry.objects.filter(invoice__in=invoice_ids, payment__isnull=False)
        .values("invoice")
        .annotate(paid=Sum("amount"))
        .order_by()
    )
    return {row["invoice"]: round_money(row["paid"]) for row in rows}
