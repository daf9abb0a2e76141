"""Documents with the mouse: write a template with three placeholder buttons, print it from a
patient's card for their treatment plan, find the copy among the patient's documents and
attach the signed scan."""

import datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from calendar_app.tests.factories import ServiceFactory
from clinic import testing
from clinic.testing_browser import ConsoleWatcher, htmx_settled, log_in, screenshot
from clinic.testing_urls import sample_png
from clinical import plans
from clinical.models import PlanStatus
from documents.models import PrintedDocument, PrintedStatus, Template
from documents.tests.factories import document_type
from documents.tests.pdf import pdf_text
from patients.tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def front_desk(db, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    branch = testing.main_branch()
    testing.make_persona("registrar", branch, password="registrar")
    document_type("contract")
    patient = PatientFactory(
        last_name="Веселова",
        first_name="Дарья",
        middle_name="Олеговна",
        birth_date=datetime.date(1990, 4, 12),
        branch=branch,
    )
    doctor = testing.make_persona("doctor", branch)
    plan = plans.plan_create(patient=patient, branch=branch, doctor=doctor.employee, by=doctor.user)
    implant = ServiceFactory(name="Установка имплантата", price=Decimal("45000.00"))
    plans.lines_add(plan=plan, service=implant, teeth_numbers=[], quantity=1, by=doctor.user)
    plan = plans.plan_set_status(plan=plan, status=PlanStatus.APPROVED, by=doctor.user)
    return {"branch": branch, "patient": patient, "plan": plan}


def test_write_a_template_print_it_from_the_card_and_attach_the_signed_scan(
    page, asgi_live_server, front_desk, tmp_path
):
    patient = front_desk["patient"]
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    log_in(page, asgi_live_server, "registrar", "registrar")

    # Documents -> add a template: the text typed, two placeholders from the buttons.
    page.goto(f"{asgi_live_server.url}/documents/")
    page.click("[data-add-template]")
    page.fill("[name=name]", "Согласие на осмотр")
    page.select_option("[name=document_type]", label="Договор")
    editor = page.locator(".jodit-wysiwyg")
    expect(editor).to_be_visible()
    editor.click()
    page.keyboard.type("Я, ")
    page.click("[data-placeholder=fio]")
    page.keyboard.type(", карта № ")
    page.click("[data-placeholder=card_number]")
    page.keyboard.type(", согласна на лечение по плану на сумму ")
    page.click("[data-placeholder=plan_total]")
    page.keyboard.type(" руб.")
    screenshot(page, "documents-template-editor")
    page.click("[data-save-template]")
    expect(page.locator("[data-template-name]")).to_have_text("Согласие на осмотр")
    template = Template.objects.get(name="Согласие на осмотр")
    # A space typed before a button's placeholder is a no-break one in an editor.
    typed = template.body.replace("&nbsp;", " ")
    assert (
        "Я, {{fio}}, карта № {{card_number}}, согласна на лечение по плану на сумму "
        "{{plan_total}} руб." in typed
    )
    # The page previews it with a made-up patient and plan.
    expect(page.locator("[data-doc-sheet]")).to_contain_text("Я, Иванова Анна Петровна")
    expect(page.locator("[data-doc-sheet]")).to_contain_text("на сумму 21\u00a0000,00 руб.")

    # The patient's card: print it for the plan.
    page.goto(f"{asgi_live_server.url}/patients/{patient.pk}/")
    panel = page.locator("[data-patient-documents]")
    expect(panel.locator(f"[data-template-choice='{template.pk}']")).to_be_visible()
    expect(panel.locator("[data-no-copies]")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")
    panel.locator(f"[data-print-template='{template.pk}']").click()
    preview = page.locator("[data-print-preview]")
    expect(preview.locator("[data-doc-sheet]")).to_contain_text(
        f"Я, Веселова Дарья Олеговна, карта № {patient.card_number}, согласна на лечение"
    )
    expect(preview.locator("[data-missing-placeholder=plan_total]")).to_be_visible()
    plan = front_desk["plan"]
    expect(preview.locator("[data-plan-choice] option:checked")).to_have_text("—")
    htmx_settled(page)  # the dialog's form must listen before it is changed
    preview.locator("[data-plan-choice]").select_option(str(plan.pk))
    expect(preview.locator("[data-doc-sheet]")).to_contain_text("на сумму 45\u00a0000,00 руб.")
    expect(preview.locator("[data-missing-placeholder=plan_total]")).to_have_count(0)
    expect(preview.locator("[data-plan-choice] option:checked")).to_have_text(
        f"План лечения № {plan.number} · утверждён · 45\u00a0000,00"
    )
    screenshot(page, "documents-print-preview")
    preview.locator("[data-print-confirm]").click()
    expect(page.locator("[data-printed]")).to_be_visible()
    with page.expect_popup() as popup:
        page.click("[data-open-pdf]")
    popup.value.close()
    page.locator("[data-printed] [data-dialog-close]").first.click()

    # The copy is among the patient's documents, without a page load.
    copy = PrintedDocument.objects.get(patient=patient)
    row = panel.locator(f"[data-copy='{copy.pk}']")
    expect(row).to_be_visible()
    expect(row).to_have_attribute("data-copy-status", "printed")
    assert page.evaluate("window.stillTheSamePage === true")
    with copy.file.open("rb") as stored:
        text = pdf_text(stored.read())
    assert f"Я, Веселова Дарья Олеговна, карта № {patient.card_number}" in text
    assert "по плану на сумму 45 000,00 руб." in text

    # The signed paper comes back: attach its scan.
    row.locator("[data-copy-detail]").click()
    page.locator("[data-copy-details] [data-attach-scan]").click()
    scan = tmp_path / "Скан согласия.png"
    scan.write_bytes(sample_png())
    page.locator("[data-scan-form] input[type=file]").set_input_files(str(scan))
    page.locator("[data-upload-scan]").click()
    expect(row).to_have_attribute("data-copy-status", "signed")
    expect(row).to_contain_text("1")  # the paperclip's count
    copy.refresh_from_db()
    assert copy.status == PrintedStatus.SIGNED
    assert copy.scans.get().original_name == "Скан согласия.png"
    screenshot(page, "documents-copy-signed")
    assert watcher.errors == []
