"""The Payments tab with the mouse: an invoice from an approved plan with a 10% discount,
issued, paid in part by card and the rest from the deposit, the debt going to zero, the act
printed."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing import ledger, services
from billing.models import Invoice, InvoiceStatus
from clinic import testing
from clinic.models import Organization
from clinic.testing_browser import ConsoleWatcher, log_in, screenshot
from documents.tests.pdf import pdf_text
from patients.tests.factories import PatientFactory

from .factories import approved_plan, cash, service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_invoice_from_a_plan_paid_by_card_and_from_the_deposit(page, asgi_live_server):
    branch = testing.main_branch()
    admin = testing.make_admin(branch, password="admin")
    patient = PatientFactory(last_name="Платёжная")
    plan = approved_plan(branch, admin, patient, prices=("6000.00", "4000.00"))
    services.deposit_top_up(
        patient=patient, amount=Decimal("3000"), method=cash(), branch=branch, by=admin.user
    )

    page.set_viewport_size({"width": 1280, "height": 900})
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    log_in(page, asgi_live_server, "admin", "admin")
    page.goto(f"{asgi_live_server.url}/patients/{patient.pk}/payments/")
    tab = page.locator("[data-billing-payments]")
    expect(tab.locator("[data-deposit]")).to_have_text("3\xa0000,00", timeout=15_000)

    # New invoice: from the plan, 10% off the whole invoice.
    tab.locator("[data-invoice-new]").click()
    dialog = page.locator("#app-dialog")
    dialog.locator(f"[data-invoice-from-plan='{plan.pk}']").click()
    form = dialog.locator("[data-invoice-form='plan']")
    expect(form.locator("[data-invoice-row]")).to_have_count(2)
    form.locator("input[name=discount]").fill("10%")
    screenshot(page, "billing-new-invoice-1280")
    form.locator("[data-invoice-save]").click()
    invoice_box = tab.locator("[data-invoice]")
    expect(invoice_box).to_have_attribute("data-invoice-status", "draft", timeout=15_000)
    expect(invoice_box.locator("[data-invoice-total]")).to_have_text("9\xa0000,00")

    invoice_box.locator("[data-invoice-issue]").click()
    page.locator("#app-confirm [data-confirm-ok]").click()
    expect(invoice_box).to_have_attribute("data-invoice-status", "issued")
    expect(tab.locator("[data-debt]")).to_have_text("9\xa0000,00")
    screenshot(page, "billing-issued-1280")

    # Part by card...
    invoice_box.locator("[data-invoice-pay]").click()
    pay = dialog.locator("[data-billing-dialog='invoice-pay']")
    pay.locator("select[name=method]").select_option(label="Банковская карта")
    pay.locator("input[name=amount]").fill("6000")
    pay.locator("[data-billing-submit]").click()
    expect(tab.locator("[data-debt]")).to_have_text("3\xa0000,00")

    # ... and the rest from the deposit.
    invoice_box.locator("[data-invoice-pay]").click()
    pay.locator("select[name=method]").select_option(index=0)
    pay.locator("input[name=amount]").fill("3000")
    pay.locator("[data-billing-submit]").click()
    expect(tab.locator("[data-debt]")).to_have_text("0,00")
    expect(tab.locator("[data-deposit]")).to_have_text("0,00")
    screenshot(page, "billing-paid-1280")

    invoice = Invoice.objects.get(patient=patient)
    assert invoice.status == InvoiceStatus.ISSUED and ledger.due_on(invoice) == 0
    href = invoice_box.locator("[data-act-print]").get_attribute("href")
    response = page.request.get(f"{asgi_live_server.url}{href}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.body()).replace("\xa0", " ")
    assert "Платёжная" in text and "9 000,00" in text

    # The tax certificate for this year: the whole 9,000 was paid for her services.
    organization = Organization.load()
    organization.inn, organization.kpp = "7701234567", "770101001"
    organization.save()
    Organization.forget_cached()
    patient.inn = "500100732259"
    patient.save(update_fields=["inn"])
    tab.locator("[data-certificate-new]").click()
    form = page.locator("[data-certificate-form]")
    form.locator("select[name=year]").select_option(str(invoice.issued_at.year))
    form.locator("[data-certificate-issue]").click()
    expect(page.locator("[data-certificate-pdf]")).to_be_visible(timeout=15_000)
    screenshot(page, "billing-certificate-1280")
    href = page.locator("[data-certificate-pdf]").get_attribute("href")
    response = page.request.get(f"{asgi_live_server.url}{href}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.body()).replace("\xa0", " ")
    assert "1151156" in text and "Платёжная" in text and "9 000,00" in text
    assert watcher.errors == []


def test_a_draft_is_edited_in_its_dialog(page, asgi_live_server):
    branch = testing.main_branch()
    admin = testing.make_admin(branch, password="admin")
    patient = PatientFactory(last_name="Черновая")
    draft = services.invoice_create(
        patient=patient,
        branch=branch,
        by=admin.user,
        lines=[
            services.LineInput(service=service("1000.00")),
            services.LineInput(service=service("500.00")),
        ],
    )
    first, second = draft.lines.order_by("position")
    added = service("250.00", name="Полировка пломбы")

    page.set_viewport_size({"width": 1280, "height": 900})
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    log_in(page, asgi_live_server, "admin", "admin")
    page.goto(f"{asgi_live_server.url}/patients/{patient.pk}/payments/")
    invoice_box = page.locator(f"[data-invoice='{draft.pk}']")
    expect(invoice_box.locator("[data-invoice-total]")).to_have_text("1\xa0500,00", timeout=15_000)

    invoice_box.locator("[data-invoice-edit]").click()
    form = page.locator("#app-dialog [data-invoice-form='edit']")
    expect(form.locator("[data-invoice-new-lines] [data-invoice-row]")).to_have_count(2)
    expect(form.locator("[data-invoice-add-lines] [data-invoice-row]")).to_have_count(3)
    form.locator(f"input[name=quantity-{first.pk}]").fill("3")
    form.locator(f"input[name=discount-{first.pk}]").fill("10%")
    form.locator(f"[data-invoice-row='{second.pk}'] input[name=line]").uncheck()
    # A service the draft did not have: on tooth 36, twice.
    form.locator("select[name=service-add-0]").select_option(str(added.pk))
    form.locator("input[name=tooth-add-0]").fill("36")
    form.locator("input[name=quantity-add-0]").fill("2")
    screenshot(page, "billing-edit-draft-1280")
    form.locator("[data-invoice-save]").click()
    expect(invoice_box.locator("[data-invoice-total]")).to_have_text("3\xa0200,00")
    expect(page.locator("#app-dialog")).not_to_be_visible()
    expect(invoice_box.locator("tr", has_text="Полировка пломбы")).to_contain_text("500,00")
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT and draft.lines.count() == 2
    new = draft.lines.get(service=added)
    assert (new.tooth, new.quantity, new.total) == (36, 2, Decimal("500.00"))
    assert watcher.errors == []
