"""Demo money: invoices for the completed visits of the past three months (most paid by cash
or card, some in part: the debtors, a few with a discount), prepayments on some cards, a
withdrawal and a rolled-back payment. Made through the services, so the ledger, the audit
log and the timeline hold them as they would in use."""

import datetime
import random
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from billing import certificates, ledger, services
from billing.amounts import DiscountAsked
from billing.methods import ensure_payment_methods, method_of_kind
from billing.models import Invoice, Payment, PaymentKind
from calendar_app.models import Appointment, StatusCode
from clinic.models import User

MAX_INVOICES = 250


def seed_billing(log) -> None:
    ensure_payment_methods()
    if Invoice.objects.exists():
        log("billing: invoices exist, left as they are")
        return
    rng = random.Random(40)
    cashier = User.objects.filter(is_superuser=True).order_by("pk").first()
    cash, card = method_of_kind(PaymentKind.CASH), method_of_kind(PaymentKind.CARD)
    since = timezone.now() - datetime.timedelta(days=92)
    completed = list(
        Appointment.objects.filter(
            status=StatusCode.COMPLETED, start__gte=since, service_lines__isnull=False
        )
        .select_related("patient", "branch", "doctor")
        .distinct()
        .order_by("start")
    )
    # Spread over the three months, not the first days of them.
    step = max(1, len(completed) // MAX_INVOICES)
    visits = completed[::step][:MAX_INVOICES]
    debtors, paid = 0, 0
    for visit in visits:
        discount = (
            DiscountAsked(percent=Decimal(rng.choice([5, 10]))) if rng.random() < 0.1 else None
        )
        invoice = services.invoice_create_from_visit(
            appointment=visit, by=cashier, discount=discount
        )
        services.invoice_issue(invoice=invoice, by=cashier)
        if not invoice.total:
            continue
        roll = rng.random()
        method = card if rng.random() < 0.5 else cash
        if roll < 0.92:
            services.invoice_pay(invoice=invoice, amount=invoice.total, method=method, by=cashier)
            paid += 1
        elif roll < 0.97:
            part = (invoice.total / 2).quantize(Decimal("1"))
            if part > 0:
                services.invoice_pay(invoice=invoice, amount=part, method=method, by=cashier)
            debtors += 1
        else:
            debtors += 1
    patients = list({visit.patient_id: visit.patient for visit in visits}.values())
    rng.shuffle(patients)
    # Prepayments on cards that owe nothing (a debtor would have paid from it).
    patients.sort(key=lambda p: ledger.balance_of(p).debt > 0)
    deposits = 0
    for patient in patients[:25]:
        branch = patient.appointments.order_by("-start").first().branch  # type: ignore[union-attr]
        amount = Decimal(rng.choice([3000, 5000, 10000, 20000]))
        made = services.deposit_top_up(
            patient=patient, amount=amount, method=cash, branch=branch, by=cashier
        )
        deposits += 1
        if deposits == 1:
            services.deposit_withdraw(
                patient=patient,
                amount=Decimal("1000"),
                method=cash,
                branch=branch,
                by=cashier,
                reason="Пациент попросил вернуть часть предоплаты",
            )
        if deposits == 2 and made and made[0].invoice_id is None:
            services.payment_rollback(payment=made[0], by=cashier, reason="Внесено по ошибке")
    backdate(visits, patients[:25], rng)
    refund_one(cashier)
    certificates_issued = issue_certificates(patients, cashier)
    owing = sum(1 for p in patients if ledger.balance_of(p).debt > 0)
    log(
        f"billing: {len(visits)} invoices ({paid} paid, {debtors} with a debt), "
        f"{deposits} prepayments, {owing} patients owe, "
        f"{certificates_issued} tax certificates"
    )


def refund_one(cashier) -> None:
    """A part of one card payment given back: the cash desk day shows money going out."""
    payment = (
        Payment.objects.filter(invoice__isnull=False, method__isnull=False, amount__gte=1000)
        .order_by("-received_at")
        .first()
    )
    if payment is not None:
        services.payment_refund(
            payment=payment,
            amount=Decimal("500"),
            by=cashier,
            reason="Пациент отказался от части лечения",
        )


def issue_certificates(patients, cashier, wanted: int = 2) -> int:
    """Tax certificates for the first patients who paid this year and whose cards carry what
    the form asks (an INN, or a date of birth and a passport)."""
    today = timezone.localdate()
    issued = 0
    for patient in patients:
        if issued == wanted:
            break
        try:
            certificates.certificate_issue(
                patient=patient, year=today.year, taxpayer=str(patient.pk), by=cashier, today=today
            )
        except ValidationError:
            continue
        issued += 1
    return issued


def backdate(visits, depositors, rng: random.Random) -> None:
    """The demo's money happened on the visits' days, not on the day the demo was built: the
    cash desk day, the month's income and the debts' ages read like a clinic's. Written in
    SQL once, as the scale data is (the ledger's own rule, never an update, is for use)."""
    from django.db import connection

    invoices = []
    for visit in visits:
        invoice = Invoice.objects.filter(appointment=visit).only("pk").first()
        if invoice is not None:
            invoices.append((visit.end, visit.end + datetime.timedelta(minutes=5), invoice.pk))
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE billing_invoice SET created_at = %s, issued_at = %s WHERE id = %s",
            [(issued, issued, pk) for issued, _paid, pk in invoices],
        )
        cursor.executemany(
            "UPDATE billing_payment SET received_at = %s WHERE invoice_id = %s",
            [(paid, pk) for _issued, paid, pk in invoices],
        )
        cursor.executemany(
            "UPDATE billing_ledgerentry SET created_at = CASE WHEN kind = 'invoice' THEN %s "
            "ELSE %s END WHERE invoice_id = %s",
            invoices,
        )
        now = timezone.now()
        for patient in depositors:
            day = now - datetime.timedelta(days=rng.randint(1, 60), minutes=rng.randint(0, 600))
            cursor.execute(
                "UPDATE billing_payment SET received_at = %s WHERE patient_id = %s "
                "AND invoice_id IS NULL",
                [day, patient.pk],
            )
            cursor.execute(
                "UPDATE billing_ledgerentry SET created_at = %s WHERE patient_id = %s "
                "AND invoice_id IS NULL",
                [day, patient.pk],
            )
