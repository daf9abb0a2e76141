"""Scale data of billing: an issued invoice for every completed visit (its lines are the
visit's service lines, the doctor the visit's), payments, deposits, refunds and debts in
realistic shares, and the ledger that says so.

Written in SQL from what the calendar generated (``INSERT ... SELECT``: the database does the
work in sets), so it also runs alone on a database seeded before billing existed
(``bench/README.md``). Shares are drawn from a hash of the row's id, so a run is repeatable:

- invoices older than 180 days: 99.5 % paid in full, the rest unpaid (old debts);
- recent invoices: 92 % paid in full, 5 % half paid, 3 % unpaid;
- methods: 60 % card, 35 % cash, 5 % bank transfer;
- 3 % of the patients put a prepayment on the deposit; 0.2 % of the paid invoices got a
  tenth of the payment refunded a day later (the invoice owes it again).

An invoice's and a payment's id is the visit's id, an account's the patient's (one per
patient); the invoice numbers run per branch and year in the order of issue, and
``clinic.numbering`` goes on from them.
"""

from django.db import connection, transaction

from billing.methods import ensure_payment_methods
from billing.models import PaymentKind, PaymentMethod
from clinic import scale
from clinic.models import NumberSequence

TABLES = [
    "billing_account",
    "billing_invoice",
    "billing_invoiceline",
    "billing_payment",
    "billing_ledgerentry",
    "billing_taxcertificate",
]
RECENT_DAYS = 180
# Deposit top-ups get payment ids after every visit's.
DEPOSIT_ID_OFFSET = 100_000_000


def _hash(column: str, salt: int) -> str:
    """A repeatable number 0-999 from an id."""
    return f"(({column}::bigint * {salt}) %% 1000)"  # %% : the statements take parameters


def generate_billing(ctx: scale.ScaleContext) -> None:
    with transaction.atomic():
        ensure_payment_methods()
    methods = {
        kind: PaymentMethod.objects.filter(kind=kind).order_by("position", "pk").first()
        for kind in PaymentKind.values
    }
    card, cash, transfer = (methods[k].pk for k in ("card", "cash", "transfer"))  # type: ignore[union-attr]
    # The invoice's year by Moscow time (branches in other zones differ only in the hours
    # around New Year; numbers stay unique per branch and year either way).
    zone = "Europe/Moscow"
    now = ctx.now.isoformat()
    h = _hash("i.id", 2654435761)
    method = (
        f"CASE WHEN {_hash('i.id', 40503)} < 600 THEN {card} "
        f"WHEN {_hash('i.id', 40503)} < 950 THEN {cash} ELSE {transfer} END"
    )
    recent = f"i.issued_at > %(now)s::timestamptz - interval '{RECENT_DAYS} days'"
    full = f"(({recent}) AND {h} < 920) OR (NOT ({recent}) AND {h} < 995)"
    half = f"({recent}) AND {h} >= 920 AND {h} < 970"
    params = {"now": now, "zone": zone}
    steps = [
        (
            "accounts",
            "INSERT INTO billing_account (id, patient_id, family_id, created_at) "
            "SELECT id, id, NULL, %(now)s FROM patients_patient",
        ),
        (
            "invoices",
            "INSERT INTO billing_invoice (id, patient_id, branch_id, number, year, status, "
            "appointment_id, plan_id, note, discount_percent, discount_amount, discount_label, "
            "subtotal, discount_total, total, due, created_at, created_by_id, issued_at, "
            "issued_by_id, rolled_back_at, rolled_back_by_id, rollback_reason) "
            "SELECT a.id, a.patient_id, a.branch_id, row_number() OVER (PARTITION BY a.branch_id, "
            '  extract(year FROM a."end" AT TIME ZONE %(zone)s) ORDER BY a."end", a.id), '
            "  extract(year FROM a.\"end\" AT TIME ZONE %(zone)s), 'issued', a.id, NULL, '', "
            '  NULL, NULL, \'\', s.total, 0, s.total, s.total, a."end", NULL, a."end", '
            "  NULL, NULL, NULL, '' "
            "FROM calendar_app_appointment a JOIN ("
            "  SELECT appointment_id, sum(price * quantity) AS total "
            "  FROM calendar_app_appointmentservice GROUP BY appointment_id) s "
            "  ON s.appointment_id = a.id "
            "WHERE a.status = 'completed' AND a.deleted_at IS NULL",
        ),
        (
            "invoice lines",
            "INSERT INTO billing_invoiceline (invoice_id, position, service_id, label, tooth, "
            "quantity, price, amount, discount, discount_label, discount_ref, invoice_discount, "
            "total, doctor_id, assistant_id, appointment_service_id, plan_line_id) "
            "SELECT l.appointment_id, row_number() OVER (PARTITION BY l.appointment_id "
            "  ORDER BY l.id), l.service_id, left(sv.code || ' ' || sv.name, 400), l.tooth, "
            "  l.quantity, l.price, l.price * l.quantity, 0, '', NULL, 0, l.price * l.quantity, "
            "  a.doctor_id, NULL, l.id, NULL "
            "FROM calendar_app_appointmentservice l "
            "JOIN billing_invoice i ON i.id = l.appointment_id "
            "JOIN calendar_app_appointment a ON a.id = l.appointment_id "
            "JOIN pricelist_service sv ON sv.id = l.service_id",
        ),
        (
            "payments",
            "INSERT INTO billing_payment (id, patient_id, invoice_id, branch_id, method_id, "  # noqa: S608 - ids and numbers of our own
            "amount, received_at, received_by_id, rolled_back_at, rolled_back_by_id, "
            "rollback_reason) "
            f"SELECT i.id, i.patient_id, i.id, i.branch_id, {method}, "
            f"  CASE WHEN {full} THEN i.total ELSE round(i.total / 2, 2) END, "
            "  i.issued_at + interval '5 minutes', NULL, NULL, NULL, '' "
            f"FROM billing_invoice i WHERE i.total > 0 AND (({full}) OR ({half}))",
        ),
        (
            "deposit top-ups",
            "INSERT INTO billing_payment (id, patient_id, invoice_id, branch_id, method_id, "  # noqa: S608 - ids and numbers of our own
            "amount, received_at, received_by_id, rolled_back_at, rolled_back_by_id, "
            "rollback_reason) "
            f"SELECT {DEPOSIT_ID_OFFSET} + p.id, p.id, NULL, p.branch_id, "
            f"  CASE WHEN {_hash('p.id', 40503)} < 500 THEN {card} ELSE {cash} END, "
            f"  5000 + {_hash('p.id', 7919)} * 45, "
            f"  %(now)s::timestamptz - ({_hash('p.id', 104729)} || ' hours')::interval, "
            "  NULL, NULL, NULL, '' "
            f"FROM patients_patient p WHERE {_hash('p.id', 2654435761)} < 30 "
            "  AND p.branch_id IS NOT NULL",
        ),
        (
            "ledger: invoices",
            "INSERT INTO billing_ledgerentry (account_id, patient_id, kind, amount, invoice_id, "
            "payment_id, method_id, branch_id, reason, created_at, created_by_id) "
            "SELECT i.patient_id, i.patient_id, 'invoice', -i.total, i.id, NULL, NULL, "
            "  i.branch_id, '', i.issued_at, NULL FROM billing_invoice i WHERE i.total > 0",
        ),
        (
            "ledger: payments",
            "INSERT INTO billing_ledgerentry (account_id, patient_id, kind, amount, invoice_id, "
            "payment_id, method_id, branch_id, reason, created_at, created_by_id) "
            "SELECT p.patient_id, p.patient_id, "
            "  CASE WHEN p.invoice_id IS NULL THEN 'deposit' ELSE 'payment' END, p.amount, "
            "  p.invoice_id, p.id, p.method_id, p.branch_id, '', p.received_at, NULL "
            "FROM billing_payment p",
        ),
        (
            "ledger: refunds",
            "INSERT INTO billing_ledgerentry (account_id, patient_id, kind, amount, invoice_id, "  # noqa: S608 - ids and numbers of our own
            "payment_id, method_id, branch_id, reason, created_at, created_by_id) "
            "SELECT p.patient_id, p.patient_id, 'refund', -round(p.amount / 10, 2), p.invoice_id, "
            "  p.id, p.method_id, p.branch_id, 'Пациент отказался от части лечения', "
            "  p.received_at + interval '1 day', NULL "
            f"FROM billing_payment p WHERE p.invoice_id IS NOT NULL "
            f"  AND {_hash('p.id', 31337)} < 2 AND p.amount >= 1 "
            "  AND p.received_at + interval '1 day' < %(now)s::timestamptz",
        ),
        (
            "invoices' due from the ledger",
            "UPDATE billing_invoice i SET due = i.total - p.paid FROM ("
            "  SELECT invoice_id, sum(amount) AS paid FROM billing_ledgerentry "
            "  WHERE payment_id IS NOT NULL AND invoice_id IS NOT NULL GROUP BY invoice_id) p "
            "WHERE p.invoice_id = i.id",
        ),
    ]
    with scale.deferred_indexes(ctx, *TABLES[:5]), transaction.atomic():
        for label, statement in steps:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                ctx.say(f"billing: {cursor.rowcount:,} {label}")
    with transaction.atomic():
        for table in TABLES[:5]:
            scale.reset_sequence(table)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT branch_id, year, max(number) FROM billing_invoice "
                "WHERE number IS NOT NULL GROUP BY branch_id, year"
            )
            numbers = cursor.fetchall()
        NumberSequence.objects.filter(key__startswith="invoice:").delete()
        NumberSequence.objects.bulk_create(
            [NumberSequence(key=f"invoice:{b}:{y}", value=n) for b, y, n in numbers]
        )
    with connection.cursor() as cursor:
        for table in TABLES[:5]:
            cursor.execute(f"ANALYZE {table}")


scale.register_generator(40, "billing", generate_billing, tables=TABLES)
