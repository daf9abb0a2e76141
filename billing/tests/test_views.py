"""The Payments tab and its dialogs: happy paths, rights, another branch's objects (404),
wrong methods, htmx answers, the query count of the tab, the PDFs' text."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing import ledger, services
from billing.models import Invoice, InvoiceStatus, Payment
from clinic import testing
from documents.tests.pdf import pdf_text
from patients.tests.factories import PatientFactory

from .factories import approved_plan, card, cash, completed_visit, issued_invoice

pytestmark = pytest.mark.django_db

D = Decimal
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def cashier(branch):
    """The demo's front desk: takes payments and prepayments, rolls back nothing."""
    return testing.make_persona("registrar", branch)


@pytest.fixture
def accountant_client(client, accountant):
    client.force_login(accountant.user)
    return client


def test_the_tab_shows_money_invoices_and_payments(admin_client, admin_persona, branch):
    invoice = issued_invoice(branch, admin_persona.user, prices=("1500.00",))
    services.invoice_pay(invoice=invoice, amount=D("500"), method=cash(), by=admin_persona.user)
    response = admin_client.get(reverse("billing:payments", args=[invoice.patient_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-invoice="{invoice.pk}"' in html
    assert "1\u00a0000,00" in html  # the debt
    assert "data-invoice-pay" in html and "data-invoice-rollback" in html


def test_the_card_header_shows_the_balance(admin_client, admin_persona, branch):
    invoice = issued_invoice(branch, admin_persona.user, prices=("700.00",))
    card_page = admin_client.get(reverse("patients:card", args=[invoice.patient_id]))
    assert reverse("billing:balance", args=[invoice.patient_id]) in card_page.content.decode()
    response = admin_client.get(reverse("billing:balance", args=[invoice.patient_id]))
    assert "-700,00" in response.content.decode()


def test_the_payments_section_of_the_card_loads_the_tab(admin_client, branch):
    patient = PatientFactory()
    response = admin_client.get(reverse("patients:section", args=[patient.pk, "payments"]))
    assert reverse("billing:payments", args=[patient.pk]) in response.content.decode()


def test_a_doctor_sees_the_tab_but_no_buttons_and_may_not_pay(doctor_client, admin_persona, branch):
    invoice = issued_invoice(branch, admin_persona.user)
    html = doctor_client.get(reverse("billing:payments", args=[invoice.patient_id])).content
    assert b"data-invoice-pay" not in html and b"data-invoice-new" not in html
    response = doctor_client.post(
        reverse("billing:invoice-pay", args=[invoice.pk]), {"amount": "10", "method": cash().pk}
    )
    assert response.status_code == 403
    assert ledger.paid_on(invoice) == 0


def test_the_front_desk_takes_payments_but_does_not_roll_back(
    client, cashier, admin_persona, branch
):
    client.force_login(cashier.user)
    invoice = issued_invoice(branch, admin_persona.user)
    response = client.post(
        reverse("billing:invoice-pay", args=[invoice.pk]),
        {"amount": "1000", "method": card().pk},
        **HX,
    )
    assert response.status_code == 204
    assert "billingChanged" in response["HX-Trigger"]
    assert ledger.due_on(invoice) == 0
    payment = Payment.objects.get(invoice=invoice)
    refused = client.post(reverse("billing:payment-rollback", args=[payment.pk]), {"reason": "x"})
    assert refused.status_code == 403


def test_paying_more_than_due_answers_422_with_the_reason(admin_client, admin_persona, branch):
    invoice = issued_invoice(branch, admin_persona.user, prices=("1000.00",))
    response = admin_client.post(
        reverse("billing:invoice-pay", args=[invoice.pk]),
        {"amount": "2000", "method": cash().pk},
        **HX,
    )
    assert response.status_code == 422
    assert "due on this invoice" in response.content.decode()


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "1e400", "NaN", "99999999999999"])
def test_bad_amounts_are_refused_with_422(admin_client, admin_persona, branch, amount):
    invoice = issued_invoice(branch, admin_persona.user)
    response = admin_client.post(
        reverse("billing:invoice-pay", args=[invoice.pk]), {"amount": amount, "method": ""}, **HX
    )
    assert response.status_code == 422
    assert ledger.paid_on(invoice) == 0


def test_the_get_answers_the_dialog(admin_client, admin_persona, branch):
    invoice = issued_invoice(branch, admin_persona.user)
    response = admin_client.get(reverse("billing:invoice-pay", args=[invoice.pk]), **HX)
    assert response.status_code == 200
    assert b'data-billing-dialog="invoice-pay"' in response.content
    assert b"<html" not in response.content


def test_issue_and_discard_are_post_only(admin_client, admin_persona, branch):
    draft = services.invoice_create(
        patient=PatientFactory(),
        branch=branch,
        by=admin_persona.user,
        lines=[services.LineInput(service=card_service())],
    )
    assert admin_client.get(reverse("billing:invoice-issue", args=[draft.pk])).status_code == 405
    assert admin_client.post(reverse("billing:invoice-issue", args=[draft.pk])).status_code == 204
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.ISSUED and draft.number == 1
    again = admin_client.post(reverse("billing:invoice-discard", args=[draft.pk]))
    assert again.status_code == 409


def card_service():
    from .factories import service

    return service("800.00")


def test_rolling_back_a_paid_invoice_through_the_dialog_explains(
    accountant_client, admin_persona, branch
):
    invoice = issued_invoice(branch, admin_persona.user)
    services.invoice_pay(invoice=invoice, amount=D("10"), method=cash(), by=admin_persona.user)
    response = accountant_client.post(
        reverse("billing:invoice-rollback", args=[invoice.pk]), {"reason": "ошибка"}, **HX
    )
    assert response.status_code == 422
    assert "roll back or refund its payments first" in response.content.decode()


def test_refund_and_rollback_dialogs(accountant_client, admin_persona, branch):
    invoice = issued_invoice(branch, admin_persona.user)
    [payment] = services.invoice_pay(
        invoice=invoice, amount=D("600"), method=cash(), by=admin_persona.user
    )
    refund = accountant_client.post(
        reverse("billing:payment-refund", args=[payment.pk]),
        {"amount": "100", "reason": "отказ"},
        **HX,
    )
    assert refund.status_code == 204
    assert ledger.paid_on(invoice) == D("500.00")


def test_deposit_top_up_and_withdrawal_with_confirmation(admin_client, branch):
    patient = PatientFactory()
    top_up = admin_client.post(
        reverse("billing:deposit-top-up", args=[patient.pk]),
        {"amount": "3000", "method": cash().pk, "branch": branch.pk},
        **HX,
    )
    assert top_up.status_code == 204
    unconfirmed = admin_client.post(
        reverse("billing:deposit-withdraw", args=[patient.pk]),
        {"amount": "1000", "method": cash().pk, "branch": branch.pk},
        **HX,
    )
    assert unconfirmed.status_code == 422
    too_much = admin_client.post(
        reverse("billing:deposit-withdraw", args=[patient.pk]),
        {"amount": "5000", "method": cash().pk, "branch": branch.pk, "confirm": "on"},
        **HX,
    )
    assert too_much.status_code == 422
    assert "deposit holds" in too_much.content.decode()
    done = admin_client.post(
        reverse("billing:deposit-withdraw", args=[patient.pk]),
        {"amount": "1000", "method": cash().pk, "branch": branch.pk, "confirm": "on"},
        **HX,
    )
    assert done.status_code == 204
    assert ledger.balance_of(patient).deposit == D("2000.00")


def test_a_new_invoice_from_a_visit_with_line_and_invoice_discounts(
    admin_client, admin_persona, branch
):
    visit = completed_visit(branch, admin_persona.employee, prices=("1000.00", "500.00"))
    url = reverse("billing:invoice-new", args=[visit.patient_id])
    chooser = admin_client.get(url, **HX)
    assert f'data-invoice-from-visit="{visit.pk}"'.encode() in chooser.content
    lines = list(visit.service_lines.order_by("pk"))
    form = admin_client.get(f"{url}?visit={visit.pk}", **HX)
    assert form.status_code == 200
    response = admin_client.post(
        url,
        {
            "visit": visit.pk,
            "line": [lines[0].pk, lines[1].pk],
            f"discount-{lines[0].pk}": "10%",
            "discount": "50",
            "note": "Без сдачи",
        },
        **HX,
    )
    assert response.status_code == 204, response.content.decode()
    invoice = Invoice.objects.get(patient=visit.patient)
    assert invoice.total == D("1000.00") - D("100.00") + D("500.00") - D("50.00")
    assert invoice.status == InvoiceStatus.DRAFT


def test_a_line_of_another_visit_is_refused_not_silently_left_out(
    admin_client, admin_persona, doctor, branch
):
    visit = completed_visit(branch, admin_persona.employee, prices=("1000.00",))
    other = completed_visit(branch, doctor.employee, visit.patient, prices=("700.00",))
    url = reverse("billing:invoice-new", args=[visit.patient_id])
    ours, theirs = visit.service_lines.get(), other.service_lines.get()
    for foreign in (theirs.pk, "999999999", "x"):
        response = admin_client.post(url, {"visit": visit.pk, "line": [ours.pk, foreign]}, **HX)
        assert response.status_code == 422
        assert (
            "Some of the chosen lines are not on this visit or plan." in response.content.decode()
        )
    assert not Invoice.objects.exists()


def test_a_new_invoice_from_a_draft_plan_is_refused_with_the_message(
    admin_client, admin_persona, branch
):
    plan = approved_plan(branch, admin_persona, approve=False)
    url = reverse("billing:invoice-new", args=[plan.patient_id])
    response = admin_client.get(f"{url}?plan={plan.pk}", **HX)
    assert response.status_code == 422
    assert "An invoice cannot be made from a draft plan." in response.content.decode()
    posted = admin_client.post(url, {"plan": plan.pk, "line": [plan.lines.get().pk]}, **HX)
    assert posted.status_code == 422
    assert not Invoice.objects.filter(plan=plan).exists()


def test_a_new_invoice_from_chosen_lines_of_an_approved_plan(admin_client, admin_persona, branch):
    plan = approved_plan(branch, admin_persona, prices=("1000.00", "2000.00"))
    first = plan.lines.order_by("pk").first()
    url = reverse("billing:invoice-new", args=[plan.patient_id])
    response = admin_client.post(
        url, {"plan": plan.pk, "line": [first.pk], "branch": branch.pk}, **HX
    )
    assert response.status_code == 204, response.content.decode()
    assert Invoice.objects.get(plan=plan).total == D("1000.00")


def test_a_new_invoice_of_single_services(admin_client, branch):
    patient = PatientFactory()
    service = card_service()
    url = reverse("billing:invoice-new", args=[patient.pk])
    response = admin_client.post(
        url,
        {
            "services": "1",
            "service-0": service.pk,
            "quantity-0": "2",
            "tooth-0": "36",
            "branch": branch.pk,
        },
        **HX,
    )
    assert response.status_code == 204, response.content.decode()
    line = Invoice.objects.get(patient=patient).lines.get()
    assert (line.tooth, line.quantity, line.total) == (36, 2, D("1600.00"))


@pytest.mark.parametrize(
    "field,value",
    [("quantity-0", "-1"), ("tooth-0", "99"), ("discount-0", "abc%"), ("discount", "-5")],
)
def test_a_new_invoice_with_bad_input_is_refused(admin_client, branch, field, value):
    patient = PatientFactory()
    data = {"services": "1", "service-0": card_service().pk, "branch": branch.pk, field: value}
    response = admin_client.post(reverse("billing:invoice-new", args=[patient.pk]), data, **HX)
    assert response.status_code == 422
    assert not Invoice.objects.filter(patient=patient).exists()


@pytest.mark.parametrize("chosen", ["999999999", "deleted", "abc", str(2**63)])
def test_a_service_not_in_the_price_list_is_refused_not_skipped(
    admin_client, admin_persona, branch, chosen
):
    from clinic.services import object_soft_delete

    if chosen == "deleted":
        gone = card_service()
        object_soft_delete(obj=gone, by=admin_persona.user)
        chosen = str(gone.pk)
    patient = PatientFactory()
    data = {"services": "1", "service-0": card_service().pk, "service-1": chosen}
    response = admin_client.post(
        reverse("billing:invoice-new", args=[patient.pk]), {**data, "branch": branch.pk}, **HX
    )
    assert response.status_code == 422
    assert "Choose a service from the price list." in response.content.decode()
    assert not Invoice.objects.filter(patient=patient).exists()


def test_a_refused_new_invoice_shows_the_services_as_chosen(admin_client, branch):
    patient = PatientFactory()
    chosen = card_service()
    data = {
        "services": "1",
        "service-0": chosen.pk,
        "tooth-0": "36",
        "quantity-0": "2",
        "discount-0": "10%",
        "service-1": chosen.pk,
        "tooth-1": "99",  # the refusal
        "branch": branch.pk,
    }
    response = admin_client.post(reverse("billing:invoice-new", args=[patient.pk]), data, **HX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "There is no tooth 99 in the FDI numbering." in html
    first, second = (row.split("</tr>")[0] for row in html.split("<tr data-invoice-row=")[1:3])
    assert f'<option value="{chosen.pk}" selected>' in first
    assert 'value="36"' in first and 'value="2"' in first and 'value="10%"' in first
    assert f'<option value="{chosen.pk}" selected>' in second and 'value="99"' in second


# --- Branches --------------------------------------------------------------------------


def test_another_branchs_invoice_visit_and_payment_are_404(
    client, branch, branch_elsewhere, admin_persona
):
    user = testing.make_persona("accountant", branch).user
    client.force_login(user)
    patient = PatientFactory()
    theirs = issued_invoice(branch_elsewhere, admin_persona.user, patient)
    [payment] = services.invoice_pay(
        invoice=theirs, amount=D("10"), method=cash(), by=admin_persona.user
    )
    other_doctor = testing.make_persona("doctor", branch_elsewhere, username="doc-e").employee
    visit = completed_visit(branch_elsewhere, other_doctor, patient)
    for name, pk in [
        ("billing:invoice-pay", theirs.pk),
        ("billing:invoice-rollback", theirs.pk),
        ("billing:invoice-issue", theirs.pk),
        ("billing:invoice-print", theirs.pk),
        ("billing:payment-refund", payment.pk),
        ("billing:payment-rollback", payment.pk),
    ]:
        assert client.post(
            reverse(name, args=[pk]), {"amount": "1", "reason": "x"}
        ).status_code in (
            404,
            405,
        ), name
    new = reverse("billing:invoice-new", args=[patient.pk])
    assert client.get(f"{new}?visit={visit.pk}").status_code == 404
    assert client.post(new, {"visit": visit.pk, "line": []}).status_code == 404
    tab = client.get(reverse("billing:payments", args=[patient.pk])).content.decode()
    assert f'data-invoice="{theirs.pk}"' not in tab
    assert branch_elsewhere.name not in tab
    assert ledger.paid_on(theirs) == D("10.00")


# --- Query counts -----------------------------------------------------------------------


def test_the_tab_reads_a_fixed_number_of_queries(
    admin_client, admin_persona, branch, django_assert_max_num_queries
):
    patient = PatientFactory()
    issued_invoice(branch, admin_persona.user, patient, prices=("100.00",))
    url = reverse("billing:payments", args=[patient.pk])
    admin_client.get(url)  # warm the session and the caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for _ in range(8):
        invoice = issued_invoice(branch, admin_persona.user, patient, prices=("100.00", "50.00"))
        services.invoice_pay(invoice=invoice, amount=D("20"), method=cash(), by=admin_persona.user)
    services.deposit_top_up(
        patient=patient, amount=D("5"), method=cash(), branch=branch, by=admin_persona.user
    )
    with django_assert_max_num_queries(len(few)):
        response = admin_client.get(url)
    assert response.content.decode().count("data-invoice=") == 9


def test_older_invoices_are_a_page_away_and_bad_pages_are_refused(
    admin_client, admin_persona, branch, django_assert_max_num_queries
):
    from billing.selectors import INVOICES_SHOWN

    patient = PatientFactory()
    made = [
        issued_invoice(branch, admin_persona.user, patient, prices=("10.00",))
        for _ in range(INVOICES_SHOWN + 3)
    ]
    services.invoice_pay(invoice=made[0], amount=D("10"), method=cash(), by=admin_persona.user)
    url = reverse("billing:payments", args=[patient.pk])
    first = admin_client.get(url).content.decode()
    assert first.count("data-invoice=") == INVOICES_SHOWN
    assert "data-invoices-older" in first and "data-invoices-newer" not in first
    with django_assert_max_num_queries(30):
        second = admin_client.get(url, {"page": 2}).content.decode()
    assert second.count("data-invoice=") == 3
    assert "data-invoices-newer" in second and "data-invoices-older" not in second
    # The oldest invoice is on the second page with its payment.
    assert f'data-invoice="{made[0].pk}"' in second
    for bad in ("0", "-1", "abc", "99999999999", "2\x00"):
        assert admin_client.get(url, {"page": bad}).status_code == 400


# --- Prints -----------------------------------------------------------------------------


def test_the_invoice_and_the_act_print_as_pdf(admin_client, admin_persona, branch):
    invoice = issued_invoice(branch, admin_persona.user, prices=("1234.50",), discount="10")
    pdf = admin_client.get(reverse("billing:invoice-print", args=[invoice.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert f"Invoice No. {invoice.number}" in text
    assert "1 111,05" in text or "1\u00a0111,05" in text
    act = pdf_text(admin_client.get(reverse("billing:act-print", args=[invoice.pk])).content)
    assert "Act of services rendered" in act and str(invoice.patient.last_name) in act


def test_a_draft_is_not_printed(admin_client, admin_persona, branch):
    draft = services.invoice_create(
        patient=PatientFactory(),
        branch=branch,
        by=admin_persona.user,
        lines=[services.LineInput(service=card_service())],
    )
    assert admin_client.get(reverse("billing:invoice-print", args=[draft.pk])).status_code == 409


def test_money_events_read_in_words_on_the_history_tab(
    admin_client, admin_persona, branch, django_capture_on_commit_callbacks
):
    from patients import timeline
    from patients.models import PatientEvent

    with django_capture_on_commit_callbacks(execute=True):
        invoice = issued_invoice(branch, admin_persona.user, prices=("300.00",))
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_pay(invoice=invoice, amount=D("300"), method=cash(), by=admin_persona.user)
    entries = PatientEvent.objects.filter(patient=invoice.patient)
    texts = [timeline.render(entry)[1] for entry in entries]
    assert f"Invoice No. {invoice.number} issued for 300,00" in texts
    assert any(t.startswith("Payment of 300,00 on invoice No.") for t in texts)
    assert any(k.key == "money" for k in timeline.kinds_for(admin_persona.user))
    invoice.patient.refresh_from_db()
    assert invoice.patient.last_activity_at is not None  # a payment is activity
    history = admin_client.get(
        reverse("patients:section", args=[invoice.patient_id, "events"]) + "?kind=money"
    )
    assert "issued for 300,00" in history.content.decode()
