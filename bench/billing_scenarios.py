"""Billing's scenarios (issue 11): issue an invoice, pay one, the Payments tab of a patient with
a long history, the debts list, and one month's income by doctor for the 20-chair branch. The
front-desk user of the other scenarios makes the requests (the demo's registrar may bill).

The drafts to issue and the issued invoices to pay are made in SQL before the timing (they
stay in the bench database, with numbers far above the generated ones).

Targets at size L: writes under 150 ms at p95, reads under 100 ms, the month report under
500 ms.
"""

import datetime
from decimal import Decimal
from typing import Any

import psycopg
from scenarios import Context, Scenario

HTMX = {"HX-Request": "true"}
# Numbers of the invoices the bench issues and pays: far above what seed_scale numbered.
BENCH_NUMBERS = 50_000_000


def _bench_invoices(ctx: Context, count: int, *, issued: bool) -> list[tuple[int, str]]:
    """Drafts (or issued invoices with their ledger entry) of one service each, for patients
    of the sample, in the measured branch: (invoice id, total)."""
    db = ctx.db
    service, price = ctx.rng.choice(ctx.services)
    label = db.execute(
        "SELECT left(code || ' ' || name, 400) FROM pricelist_service WHERE id = %s", [service]
    ).fetchone()[0]
    year = ctx.today.year
    made = []
    with db.transaction():
        start = db.execute(
            "SELECT coalesce(max(number), %s) FROM billing_invoice WHERE number >= %s",
            [BENCH_NUMBERS, BENCH_NUMBERS],
        ).fetchone()[0]
        for index in range(count):
            patient = ctx.rng.choice(ctx.patients)[0]
            number = start + index + 1 if issued else None
            invoice = db.execute(
                "INSERT INTO billing_invoice (patient_id, branch_id, number, year, status, note, "
                "discount_label, subtotal, discount_total, total, due, created_at, issued_at, "
                "rollback_reason) VALUES (%s, %s, %s, %s, %s, 'bench', '', %s, 0, %s, %s, now(), "
                "%s, '') RETURNING id",
                [
                    patient,
                    ctx.branch_id,
                    number,
                    year if issued else None,
                    "issued" if issued else "draft",
                    price,
                    price,
                    price if issued else 0,
                    datetime.datetime.now(datetime.UTC) if issued else None,
                ],
            ).fetchone()[0]
            db.execute(
                "INSERT INTO billing_invoiceline (invoice_id, position, service_id, label, "
                "quantity, price, amount, discount, discount_label, invoice_discount, total) "
                "VALUES (%s, 1, %s, %s, 1, %s, %s, 0, '', 0, %s)",
                [invoice, service, label, price, price, price],
            )
            if issued:
                db.execute(
                    "INSERT INTO billing_account (patient_id, created_at) VALUES (%s, now()) "
                    "ON CONFLICT (patient_id) DO NOTHING",
                    [patient],
                )
                db.execute(
                    "INSERT INTO billing_ledgerentry (account_id, patient_id, kind, amount, "
                    "invoice_id, branch_id, reason, created_at) SELECT a.id, %s, 'invoice', %s, "
                    "%s, %s, '', now() FROM billing_account a WHERE a.patient_id = %s",
                    [patient, -Decimal(price), invoice, ctx.branch_id, patient],
                )
            made.append((invoice, price))
    return made


def _card_method(ctx: Context) -> int:
    if "card_method" not in ctx.cache:
        ctx.cache["card_method"] = ctx.db.execute(
            "SELECT id FROM billing_paymentmethod WHERE kind = 'card' AND deleted_at IS NULL "
            "ORDER BY position, id LIMIT 1"
        ).fetchone()[0]
    return ctx.cache["card_method"]


def floor_issue(db: psycopg.Connection, param: tuple[int, str]) -> Any:
    """Lock the draft and the counter, number it, post the ledger entry, the audit row and the
    event; rolled back so the application issues the same draft afterwards."""
    invoice, total = param
    with db.transaction(force_rollback=True):
        row = db.execute(
            "SELECT id, patient_id, branch_id FROM billing_invoice WHERE id = %s FOR UPDATE",
            [invoice],
            prepare=True,
        ).fetchone()
        db.execute(
            "INSERT INTO clinic_numbersequence (key, value) VALUES ('bench-floor', 1) "
            "ON CONFLICT (key) DO UPDATE SET value = clinic_numbersequence.value + 1 "
            "RETURNING value",
            prepare=True,
        )
        db.execute(
            "UPDATE billing_invoice SET status = 'issued', number = %s, year = 2026, "
            "issued_at = now(), due = total WHERE id = %s",
            [BENCH_NUMBERS * 2 + invoice, invoice],
            prepare=True,
        )
        db.execute(
            "INSERT INTO billing_ledgerentry (account_id, patient_id, kind, amount, invoice_id, "
            "branch_id, reason, created_at) SELECT a.id, %s, 'invoice', %s, %s, %s, '', now() "
            "FROM billing_account a WHERE a.patient_id = %s",
            [row[1], -Decimal(total), invoice, row[2], row[1]],
            prepare=True,
        )
        db.execute(
            "INSERT INTO clinic_outboxevent (name, aggregate_type, aggregate_id, payload, "
            "created_at, delivered_to, attempts, last_error) VALUES ('invoice.issued', "
            "'billing.invoice', %s, '{}', now(), '[]', 0, '')",
            [str(invoice)],
            prepare=True,
        )
    return row


def floor_pay(ctx: Context):
    def floor(db: psycopg.Connection, param: tuple[int, str]) -> Any:
        """Lock the account and the invoice, read what is paid, write the payment, its ledger
        entry and the event; rolled back."""
        invoice, total = param
        with db.transaction(force_rollback=True):
            row = db.execute(
                "SELECT id, patient_id, branch_id, total FROM billing_invoice WHERE id = %s "
                "FOR UPDATE",
                [invoice],
                prepare=True,
            ).fetchone()
            db.execute(
                "SELECT id FROM billing_account WHERE patient_id = %s FOR UPDATE",
                [row[1]],
                prepare=True,
            )
            db.execute(
                "SELECT coalesce(sum(amount), 0) FROM billing_ledgerentry WHERE invoice_id = %s "
                "AND payment_id IS NOT NULL",
                [invoice],
                prepare=True,
            )
            payment = db.execute(
                "INSERT INTO billing_payment (patient_id, invoice_id, branch_id, method_id, "
                "amount, received_at, rollback_reason) VALUES (%s, %s, %s, %s, %s, now(), '') "
                "RETURNING id",
                [row[1], invoice, row[2], _card_method(ctx), total],
                prepare=True,
            ).fetchone()[0]
            db.execute(
                "INSERT INTO billing_ledgerentry (account_id, patient_id, kind, amount, "
                "invoice_id, payment_id, method_id, branch_id, reason, created_at) SELECT a.id, "
                "%s, 'payment', %s, %s, %s, %s, %s, '', now() FROM billing_account a "
                "WHERE a.patient_id = %s",
                [row[1], total, invoice, payment, _card_method(ctx), row[2], row[1]],
                prepare=True,
            )
            db.execute(
                "UPDATE billing_invoice SET due = total - (SELECT coalesce(sum(amount), 0) FROM "
                "billing_ledgerentry WHERE invoice_id = %s AND payment_id IS NOT NULL) "
                "WHERE id = %s",
                [invoice, invoice],
                prepare=True,
            )
            db.execute(
                "INSERT INTO clinic_outboxevent (name, aggregate_type, aggregate_id, payload, "
                "created_at, delivered_to, attempts, last_error) VALUES ('payment.received', "
                "'billing.payment', %s, '{}', now(), '[]', 0, '')",
                [str(payment)],
                prepare=True,
            )
        return payment

    return floor


def long_history_patients(ctx: Context, count: int) -> list[int]:
    """The patients of the measured branch with the most invoices."""
    if "billing_long" not in ctx.cache:
        ctx.cache["billing_long"] = [r[0] for r in ctx.db.execute(
            "SELECT patient_id FROM billing_invoice WHERE branch_id = %s "
            "GROUP BY patient_id ORDER BY count(*) DESC, patient_id LIMIT 20",
            [ctx.branch_id],
        )]  # fmt: skip
    patients = ctx.cache["billing_long"]
    return [patients[i % len(patients)] for i in range(count)]


def floor_payments_tab(db: psycopg.Connection, patient: int) -> Any:
    invoices = db.execute(
        "SELECT i.id, i.number, i.status, i.total, i.issued_at, b.name FROM billing_invoice i "
        "JOIN clinic_branch b ON b.id = i.branch_id WHERE i.patient_id = %s "
        "ORDER BY i.created_at DESC, i.id DESC LIMIT 21",
        [patient],
        prepare=True,
    ).fetchall()
    ids = [row[0] for row in invoices]
    lines = db.execute(
        "SELECT l.invoice_id, l.label, l.tooth, l.quantity, l.price, l.total FROM "
        "billing_invoiceline l WHERE l.invoice_id = ANY(%s) ORDER BY l.position, l.id",
        [ids],
        prepare=True,
    ).fetchall()
    paid = db.execute(
        "SELECT invoice_id, sum(amount) FROM billing_ledgerentry WHERE invoice_id = ANY(%s) "
        "AND payment_id IS NOT NULL GROUP BY invoice_id",
        [ids],
        prepare=True,
    ).fetchall()
    payments = db.execute(
        "SELECT p.id, p.invoice_id, p.amount, p.received_at, m.name FROM billing_payment p "
        "LEFT JOIN billing_paymentmethod m ON m.id = p.method_id WHERE p.invoice_id = ANY(%s) "
        "ORDER BY p.received_at DESC, p.id DESC",
        [ids],
        prepare=True,
    ).fetchall()
    balance = db.execute(
        "SELECT sum(amount) FILTER (WHERE invoice_id IS NOT NULL), "
        "sum(amount) FILTER (WHERE invoice_id IS NULL) FROM billing_ledgerentry e "
        "JOIN billing_account a ON a.id = e.account_id WHERE a.patient_id = %s",
        [patient],
        prepare=True,
    ).fetchone()
    return invoices, lines, paid, payments, balance


def floor_debts(ctx: Context):
    def floor(db: psycopg.Connection, _param: Any) -> Any:
        """The first page of debtors: the unpaid invoices of the user's branches summed per
        patient, the largest first."""
        summary = db.execute(
            "SELECT count(DISTINCT patient_id), sum(due) FROM billing_invoice "
            "WHERE status = 'issued' AND due > 0",
            prepare=True,
        ).fetchone()
        page = db.execute(
            "SELECT patient_id, sum(due), count(*), min(issued_at) FROM billing_invoice "
            "WHERE status = 'issued' AND due > 0 GROUP BY patient_id "
            "ORDER BY 2 DESC, patient_id LIMIT 50",
            prepare=True,
        ).fetchall()
        patients = db.execute(
            "SELECT id, last_name, first_name, middle_name, phone, card_number "
            "FROM patients_patient WHERE id = ANY(%s)",
            [[row[0] for row in page]],
            prepare=True,
        ).fetchall()
        return summary, page, patients

    return floor


def income_months(ctx: Context, count: int) -> list[str]:
    months = []
    day = ctx.today.replace(day=1)
    for _ in range(12):
        day = (day - datetime.timedelta(days=1)).replace(day=1)
        months.append(day.strftime("%Y-%m"))
    return [months[i % len(months)] for i in range(count)]


def floor_income(ctx: Context):
    def floor(db: psycopg.Connection, month: str) -> Any:
        first = datetime.datetime.strptime(month, "%Y-%m").replace(tzinfo=ctx.zone)
        following = (first + datetime.timedelta(days=32)).replace(day=1)
        invoiced = db.execute(
            "SELECT l.doctor_id, sum(l.total) FROM billing_invoice i JOIN billing_invoiceline l "
            "ON l.invoice_id = i.id WHERE i.branch_id = %s AND i.issued_at >= %s "
            "AND i.issued_at < %s AND i.status = 'issued' GROUP BY l.doctor_id",
            [ctx.branch_id, first, following],
            prepare=True,
        ).fetchall()
        paid = db.execute(
            "WITH paid AS (SELECT invoice_id, sum(amount) AS amount FROM billing_ledgerentry "
            "WHERE branch_id = %s AND created_at >= %s AND created_at < %s "
            "AND payment_id IS NOT NULL AND invoice_id IS NOT NULL GROUP BY invoice_id) "
            "SELECT l.doctor_id, sum(paid.amount * l.total / i.total) FROM paid "
            "JOIN billing_invoice i ON i.id = paid.invoice_id JOIN billing_invoiceline l "
            "ON l.invoice_id = i.id WHERE i.total > 0 GROUP BY l.doctor_id",
            [ctx.branch_id, first, following],
            prepare=True,
        ).fetchall()
        return invoiced, paid

    return floor


def billing_scenarios(ctx: Context) -> list[Scenario]:
    return [
        Scenario(
            "billing.issue",
            "Issue a draft invoice (POST issue: numbered, on the ledger)",
            150,
            lambda c, n: _bench_invoices(c, n, issued=False),
            lambda client, param: client.post(
                f"/billing/invoice/{param[0]}/issue/", {}, headers=dict(HTMX)
            ),
            floor_issue,
            kind="write",
            expect=(204,),
            note="floor: the draft and the counter locked, the number, the ledger entry and "
            "the event written, rolled back",
        ),
        Scenario(
            "billing.pay",
            "Pay an issued invoice in full by card (POST pay)",
            150,
            lambda c, n: _bench_invoices(c, n, issued=True),
            lambda client, param: client.post(
                f"/billing/invoice/{param[0]}/pay/",
                data={"method": str(_card_method(ctx)), "amount": str(param[1])},
                headers=dict(HTMX),
            ),
            floor_pay(ctx),
            kind="write",
            expect=(204,),
            note="floor: the invoice and the account locked, the paid sum read, the payment, "
            "its ledger entry and the event written, rolled back",
        ),
        Scenario(
            "billing.payments_tab",
            "The Payments tab of a patient with a long history",
            100,
            long_history_patients,
            lambda client, pk: client.get(f"/billing/patient/{pk}/payments/", headers=dict(HTMX)),
            floor_payments_tab,
            note="the patients of the branch with the most invoices; floor: the newest 21 "
            "invoices with their lines, paid sums and payments, the balance",
        ),
        Scenario(
            "billing.debts",
            "The debts list, first page, all branches",
            100,
            lambda c, n: [None] * n,
            lambda client, _param: client.get("/billing/debts/"),
            floor_debts(ctx),
            note="floor: the open invoices counted and summed, then summed per patient, the "
            "largest 50, and their patients",
        ),
        Scenario(
            "billing.income",
            "One month's income by doctor for the 20-chair branch",
            500,
            income_months,
            lambda client, month: client.get(
                f"/billing/income/?branch={ctx.branch_id}&month={month}"
            ),
            floor_income(ctx),
            note="the last twelve months in turn; floor: the two grouped queries",
        ),
    ]
