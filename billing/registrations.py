"""What billing plugs into the core: the payment methods book, its settings, the card's
Payments tab and balance, the timeline's money kind, the invoice and act layouts, demo data."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing import ledger
from billing.models import PaymentMethod
from clinic import demo, preferences, references
from clinic.money import format_money
from documents import rendering
from patients import card_panels, card_sections, timeline

references.register(
    references.ReferenceBook(
        "payment-methods",
        gettext_lazy("Payment methods"),
        PaymentMethod,
        fields=("name", "kind"),
        description=gettext_lazy("How patients pay and get money back: cash, card, transfer."),
        icon="wallet2",
    )
)

preferences.register(
    preferences.Preference(
        ledger.AUTO_DISTRIBUTE,
        "billing",
        gettext_lazy("Auto-distribute prepayments and overpayments"),
        lambda: forms.BooleanField(required=False),
        default=False,
        help_text=gettext_lazy(
            "Paying more than an invoice's due pays the patient's oldest unpaid invoices, the "
            "rest stays on the deposit; a prepayment pays the oldest debts first. Off: paying "
            "more than is due is refused."
        ),
    )
)
preferences.register(
    preferences.Preference(
        ledger.FAMILY_SHARED_DEPOSIT,
        "billing",
        gettext_lazy("A family shares one deposit"),
        lambda: forms.BooleanField(required=False),
        default=False,
        help_text=gettext_lazy(
            "Prepayments of a family's members go to one deposit that every member pays from."
        ),
    )
)

card_sections.register(
    card_sections.CardSection(
        "payments", "billing:payments", right=("billing", "view"), styles=("css/billing.css",)
    )
)
card_panels.register(
    card_panels.CardPanel(
        "balance",
        "billing:balance",
        right=("billing", "view"),
        refresh_on=("billingChanged",),
        placement="stats",
    )
)


def _invoice_context(invoice, ctx) -> dict:
    from billing.selectors import invoice_view

    return {"view": invoice_view(invoice)}


rendering.register_layout(
    rendering.Layout(
        "invoice",
        "billing/print/invoice.html",
        title=lambda invoice: str(invoice),
        context=_invoice_context,
    )
)
rendering.register_layout(
    rendering.Layout(
        "services_act",
        "billing/print/act.html",
        title=lambda invoice: (
            _("Act of services rendered No. %(number)s") % {"number": invoice.number}
        ),
        context=_invoice_context,
    )
)


def _money(payload: dict, key: str = "amount") -> str:
    return format_money(payload.get(key) or "0")


def _paid(payload: dict) -> str:
    how = _("from the deposit") if payload.get("from_deposit") else payload.get("method", "")
    return _("Payment of %(amount)s on invoice No. %(number)s (%(how)s)") % {
        "amount": _money(payload),
        "number": payload.get("number") or "",
        "how": how,
    }


timeline.describe(
    "invoice.created",
    "receipt",
    lambda p: _("Draft invoice for %(total)s made") % {"total": _money(p, "total")},
)
timeline.describe(
    "invoice.changed",
    "pencil-square",
    lambda p: (
        _("Draft invoice changed: %(before)s → %(total)s")
        % {"before": _money(p, "previous_total"), "total": _money(p, "total")}
    ),
)
timeline.describe(
    "invoice.issued",
    "receipt",
    lambda p: (
        _("Invoice No. %(number)s issued for %(total)s")
        % {"number": p.get("number"), "total": _money(p, "total")}
    ),
)
timeline.describe(
    "invoice.rolled_back",
    "receipt-cutoff",
    lambda p: (
        _("Invoice No. %(number)s rolled back: %(reason)s")
        % {"number": p.get("number"), "reason": p.get("reason", "")}
    ),
)
timeline.describe("payment.received", "cash-coin", _paid)
timeline.describe(
    "payment.rolled_back",
    "arrow-counterclockwise",
    lambda p: (
        _("Payment of %(amount)s rolled back: %(reason)s")
        % {"amount": _money(p), "reason": p.get("reason", "")}
    ),
)
timeline.describe(
    "payment.refunded",
    "arrow-return-left",
    lambda p: (
        _("%(amount)s refunded of a payment on invoice No. %(number)s: %(reason)s")
        % {
            "amount": _money(p, "refunded"),
            "number": p.get("number") or "",
            "reason": p.get("reason", ""),
        }
    ),
)
timeline.describe(
    "deposit.received",
    "piggy-bank",
    lambda p: (
        _("%(amount)s put on the deposit (%(method)s)")
        % {"amount": _money(p), "method": p.get("method", "")}
    ),
)
timeline.describe(
    "deposit.withdrawn",
    "box-arrow-up-right",
    lambda p: (
        _("%(amount)s taken off the deposit (%(method)s)")
        % {"amount": _money(p), "method": p.get("method", "")}
    ),
)
timeline.register_kind(
    timeline.Kind(
        "money",
        gettext_lazy("Money"),
        ("invoice.", "payment.", "deposit.", "tax_certificate."),
        order=40,
        right=("billing", "view"),
    )
)


def _seed(log) -> None:
    from billing.demo import seed_billing

    seed_billing(log)


demo.register_seeder(40, "billing", _seed)
