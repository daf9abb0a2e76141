"""The billing writes, one import away: invoices (``billing.invoicing``) and payments and
the deposit (``billing.payments``). Each is one transaction, audited, with a domain event
that carries ``patient_id``."""

from billing.invoicing import (
    LineInput,
    engine_discount_of,
    invoice_create,
    invoice_create_from_plan,
    invoice_create_from_visit,
    invoice_discard,
    invoice_discount,
    invoice_issue,
    invoice_rollback,
    invoice_update,
    lines_from_invoice,
    lines_from_plan,
    lines_from_visit,
)
from billing.payments import (
    deposit_top_up,
    deposit_withdraw,
    invoice_pay,
    payment_refund,
    payment_rollback,
    positive_amount,
)

__all__ = [
    "LineInput",
    "deposit_top_up",
    "deposit_withdraw",
    "engine_discount_of",
    "invoice_create",
    "invoice_create_from_plan",
    "invoice_create_from_visit",
    "invoice_discard",
    "invoice_discount",
    "invoice_issue",
    "invoice_pay",
    "invoice_rollback",
    "invoice_update",
    "lines_from_invoice",
    "lines_from_plan",
    "lines_from_visit",
    "payment_refund",
    "payment_rollback",
    "positive_amount",
]
