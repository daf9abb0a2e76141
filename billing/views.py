"""The card's Payments tab (registered with ``patients.card_sections``), the balance panel,
and the dialogs: new invoice, issue, pay, roll back, refund, deposit top-up and withdrawal;
the invoice and the act as PDF. Every action closes its dialog and announces
``billingChanged``: the tab and the balance reload themselves."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from billing import ledger, selectors, services
from billing.forms import (
    DepositForm,
    PayForm,
    ReasonForm,
    RefundForm,
    WithdrawForm,
)
from billing.models import Invoice, Payment
from clinic.bounds import InputRefused, parse_id
from clinic.htmx import close_dialog, render_form, trigger
from clinic.money import format_money
from clinic.permissions import AuthedRequest, has_module_perm, module_required
from clinical.access import card_patient, require_card_access
from documents import rendering
from documents.context import build_context
from documents.views import pdf_response

CHANGED = "billingChanged"
# Pages of invoices in the Payments tab (20 a page: 200,000 invoices is beyond any patient).
MAX_PAGE = 10_000


def get_invoice_for_user(request: AuthedRequest, pk: int) -> Invoice:
    """An invoice of the user's branches on a live card; 404 otherwise."""
    require_card_access(request)
    return get_object_or_404(
        Invoice.objects.for_user(request.user)
        .filter(patient__deleted_at__isnull=True)
        .select_related("patient", "branch"),
        pk=pk,
    )


def get_payment_for_user(request: AuthedRequest, pk: int) -> Payment:
    require_card_access(request)
    return get_object_or_404(
        Payment.objects.for_user(request.user)
        .filter(patient__deleted_at__isnull=True)
        .select_related("patient", "invoice", "method", "branch"),
        pk=pk,
    )


def _done(request: AuthedRequest, text: str) -> HttpResponse:
    messages.success(request, text)
    return close_dialog(CHANGED, request=request)


def _dialog(request, context: dict, status: int = 200) -> HttpResponse:
    return render_form(request, "billing/dialog_form.html", context, status=status)


def _can(request: AuthedRequest) -> dict:
    return {
        action: has_module_perm(request.user, "billing", action)
        for action in ("change", "rollback", "refund", "deposit")
    }


@require_GET
@module_required("billing", "view")
def payments(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = card_patient(request, pk)
    page = parse_id(request.GET.get("page") or "1")
    if page is None or page > MAX_PAGE:
        raise InputRefused(_("“page” must be a number from 1 to %(max)s.") % {"max": MAX_PAGE})
    context = {
        "patient": patient,
        "tab": selectors.payments_tab(request.user, patient, page=page),
        "can": _can(request),
    }
    return render(request, "billing/payments.html", context)


@require_GET
@module_required("billing", "view")
def balance(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = card_patient(request, pk)
    money = ledger.balance_of(patient)
    return render(request, "billing/balance.html", {"patient": patient, "money": money})


# --- Invoice actions ---------------------------------------------------------------------


@require_POST
@module_required("billing", "change")
def invoice_issue(request: AuthedRequest, pk: int) -> HttpResponse:
    invoice = get_invoice_for_user(request, pk)
    try:
        services.invoice_issue(invoice=invoice, by=request.user)
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=409)
    return trigger(HttpResponse(status=204), CHANGED)


@require_POST
@module_required("billing", "change")
def invoice_discard(request: AuthedRequest, pk: int) -> HttpResponse:
    invoice = get_invoice_for_user(request, pk)
    try:
        services.invoice_discard(invoice=invoice, by=request.user)
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=409)
    return trigger(HttpResponse(status=204), CHANGED)


@module_required("billing", "rollback")
def invoice_rollback(request: AuthedRequest, pk: int) -> HttpResponse:
    invoice = get_invoice_for_user(request, pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invoice_rollback(
                invoice=invoice, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            return _done(request, _("The invoice is rolled back."))
    return _dialog(
        request,
        {
            "title": _("Roll back %(invoice)s") % {"invoice": invoice},
            "form": form,
            "action": request.path,
            "submit": _("Roll back"),
            "danger": True,
            "confirm": _("The invoice will no longer be owed. Roll it back?"),
            "marker": "invoice-rollback",
        },
        status=422 if form.errors else 200,
    )


@module_required("billing", "change")
def invoice_pay(request: AuthedRequest, pk: int) -> HttpResponse:
    invoice = get_invoice_for_user(request, pk)
    view = selectors.invoice_view(invoice)
    form = PayForm(request.POST or None, initial={"amount": view.due or None})
    if request.method == "POST" and form.is_valid():
        try:
            made = services.invoice_pay(
                invoice=invoice,
                amount=form.cleaned_data["amount"],
                method=form.cleaned_data["method"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            total = sum(p.amount for p in made)
            return _done(
                request, _("Payment of %(amount)s taken.") % {"amount": format_money(total)}
            )
    money = ledger.balance_of(invoice.patient)
    return _dialog(
        request,
        {
            "title": _("Pay %(invoice)s") % {"invoice": invoice},
            "lead": _("Due %(due)s · on the deposit %(deposit)s")
            % {"due": format_money(view.due), "deposit": format_money(money.deposit)},
            "form": form,
            "action": request.path,
            "submit": _("Pay"),
            "marker": "invoice-pay",
        },
        status=422 if form.errors else 200,
    )


@require_GET
@module_required("billing", "view")
def invoice_print(request: AuthedRequest, pk: int) -> HttpResponse:
    return _print(request, pk, "invoice")


@require_GET
@module_required("billing", "view")
def act_print(request: AuthedRequest, pk: int) -> HttpResponse:
    return _print(request, pk, "services_act")


def _print(request: AuthedRequest, pk: int, layout: str) -> HttpResponse:
    invoice = get_invoice_for_user(request, pk)
    if invoice.is_draft:
        return HttpResponse(_("A draft is printed once issued."), status=409)
    context = build_context(
        invoice.patient, user=request.user, branch=invoice.branch, subjects={"invoice": invoice}
    )
    piece = rendering.layout_piece(layout, invoice, context)
    pdf = rendering.render([piece], context.organization)[0].pdf
    return pdf_response(pdf, f"{piece.title}.pdf")


# --- Payment actions -----------------------------------------------------------------------


@module_required("billing", "rollback")
def payment_rollback(request: AuthedRequest, pk: int) -> HttpResponse:
    payment = get_payment_for_user(request, pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.payment_rollback(
                payment=payment, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            return _done(request, _("The payment is rolled back."))
    return _dialog(
        request,
        {
            "title": _("Roll back the payment of %(amount)s")
            % {"amount": format_money(payment.amount)},
            "form": form,
            "action": request.path,
            "submit": _("Roll back"),
            "danger": True,
            "confirm": _("Roll the payment back?"),
            "marker": "payment-rollback",
        },
        status=422 if form.errors else 200,
    )


@module_required("billing", "refund")
def payment_refund(request: AuthedRequest, pk: int) -> HttpResponse:
    payment = get_payment_for_user(request, pk)
    form = RefundForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.payment_refund(
                payment=payment,
                amount=form.cleaned_data["amount"],
                method=form.cleaned_data["method"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            return _done(request, _("The refund is recorded."))
    return _dialog(
        request,
        {
            "title": _("Refund of a payment of %(amount)s")
            % {"amount": format_money(payment.amount)},
            "form": form,
            "action": request.path,
            "submit": _("Refund"),
            "danger": True,
            "confirm": _("Give this money back to the patient?"),
            "marker": "payment-refund",
        },
        status=422 if form.errors else 200,
    )


# --- Deposit -------------------------------------------------------------------------------


@module_required("billing", "deposit")
def deposit_top_up(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = card_patient(request, pk)
    form = DepositForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.deposit_top_up(patient=patient, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            return _done(request, _("The prepayment is taken."))
    return _dialog(
        request,
        {
            "title": _("Prepayment"),
            "form": form,
            "action": request.path,
            "submit": _("Take"),
            "marker": "deposit-top-up",
        },
        status=422 if form.errors else 200,
    )


@module_required("billing", "deposit")
def deposit_withdraw(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = card_patient(request, pk)
    form = WithdrawForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("confirm")
        try:
            services.deposit_withdraw(patient=patient, by=request.user, **data)
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            return _done(request, _("The money is taken off the deposit."))
    money = ledger.balance_of(patient)
    return _dialog(
        request,
        {
            "title": _("Withdraw from the deposit"),
            "lead": _("On the deposit: %(deposit)s") % {"deposit": format_money(money.deposit)},
            "form": form,
            "action": request.path,
            "submit": _("Withdraw"),
            "danger": True,
            "marker": "deposit-withdraw",
        },
        status=422 if form.errors else 200,
    )
