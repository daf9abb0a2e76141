"""The Treatment plan tab with the mouse: a new plan, the chart's diagnoses ticked, Suggest,
a template chosen fills the draft per tooth, approve (confirmed), print."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from calendar_app.tests.factories import ServiceFactory
from clinic import testing
from clinic.models import Profession
from clinic.testing_browser import ConsoleWatcher, log_in, screenshot
from clinical.models import (
    Diagnosis,
    PlanStatus,
    PlanTemplate,
    PlanTemplateLine,
    ToothRecord,
    TreatmentPlan,
)
from documents.tests.pdf import pdf_text
from patients.tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def template(name, codes, services):
    made = PlanTemplate.objects.create(name=name)
    made.diagnoses.set(Diagnosis.objects.filter(code__in=codes))
    profession = Profession.objects.get_or_create(name="Терапевт", kind="doctor")[0]
    for position, service in enumerate(services, start=1):
        PlanTemplateLine.objects.create(
            template=made, service=service, profession=profession, hours=1, position=position
        )
    return made


def test_suggest_fill_approve_and_print(page, asgi_live_server):
    testing.make_persona("doctor", testing.main_branch(), password="doctor")
    patient = PatientFactory(last_name="Планова")
    ToothRecord.objects.create(
        patient=patient, tooth=11, diagnosis=Diagnosis.objects.get(code="K04.0")
    )
    visit = ServiceFactory(name="Осмотр терапевта", price=Decimal("2000.00"))
    filling = ServiceFactory(name="Пломба", price=Decimal("7500.00"), per_tooth=True)
    template("Кариес: пломба", ["K02.1"], [visit, filling])
    template("Пульпит", ["K04.0", "K04.01"], [visit])

    page.set_viewport_size({"width": 1280, "height": 900})
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    log_in(page, asgi_live_server, "doctor", "doctor")

    # On the chart: two teeth selected, caries set on them.
    page.goto(f"{asgi_live_server.url}/patients/{patient.pk}/diagnostics/")
    chart = page.locator("[data-dental-chart]")
    chart.locator("[data-tooth='36']").click()
    chart.locator("[data-tooth='46']").click()
    chart.locator("[data-chart-fields] .ts-control").first.click()
    page.keyboard.type("K02.1")
    page.locator(".ts-dropdown .option", has_text="Кариес дентина").first.click()
    chart.locator("select[name=state]").select_option("caries")
    chart.locator("[data-chart-submit]").click()
    expect(chart.locator("[data-tooth='46']")).to_have_attribute("data-state", "caries")
    screenshot(page, "clinical-chart-1280")

    page.goto(f"{asgi_live_server.url}/patients/{patient.pk}/plan/")
    tab = page.locator("[data-treatment-plans]")
    expect(tab.locator("[data-plan-empty]")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")

    tab.locator("[data-plan-new]").click()
    # The first write of a fresh server (the audit chain, the counters) may take a while.
    expect(tab.locator("[data-plan-badge]")).to_be_visible(timeout=15_000)
    tab.locator("[data-plan-diagnosis='K02.1']").first.check()
    tab.locator("[data-plan-diagnosis='K02.1']").last.check()
    tab.locator("[data-plan-suggest]").click()
    suggestions = tab.locator("[data-suggestion]")
    expect(suggestions).to_have_count(1)
    expect(suggestions.first).to_contain_text("Кариес: пломба")
    expect(suggestions.first.locator("[data-suggestion-percent]")).to_have_text("100%")
    screenshot(page, "clinical-plan-suggest-1280")

    suggestions.first.locator("[data-suggestion-choose]").click()
    lines = tab.locator("[data-plan-line]")
    expect(lines).to_have_count(3)
    expect(tab.locator("[data-plan-total]")).to_have_text("17\xa0000,00")

    # The doctor edits the draft: two visits instead of one.
    lines.first.locator("[data-line-quantity]").fill("2")
    lines.first.locator("[data-line-quantity]").dispatch_event("change")
    expect(tab.locator("[data-plan-total]")).to_have_text("19\xa0000,00")

    # And adds a filling on 16 from the price list: the teeth, then the service by search.
    form = tab.locator("[data-plan-add-form]")
    form.locator("[data-tooth='16']").click()
    expect(form.locator("[data-tooth='16'] input")).to_be_checked()
    form.locator(".ts-control").first.click()
    page.keyboard.type("Пломба")
    page.locator(".ts-dropdown .option", has_text="Пломба").first.click()
    form.locator("[data-plan-add]").click()
    expect(lines).to_have_count(4)
    expect(tab.locator("[data-plan-total]")).to_have_text("26\xa0500,00")

    tab.locator("[data-plan-approve]").click()
    page.locator("#app-confirm [data-confirm-ok]").click()
    expect(tab.locator("[data-plan]")).to_have_attribute("data-plan-state", "approved")
    expect(tab.locator("[data-plan-add-form]")).to_have_count(0)
    plan = TreatmentPlan.objects.get(patient=patient)
    assert plan.status == PlanStatus.APPROVED
    assert sorted(plan.lines.values_list("tooth", flat=True), key=str) == [16, 36, 46, None]
    assert page.evaluate("window.stillTheSamePage === true")
    screenshot(page, "clinical-plan-approved-1280")

    href = tab.locator("[data-plan-print]").get_attribute("href")
    response = page.request.get(f"{asgi_live_server.url}{href}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.body()).replace("\xa0", " ")
    assert "Планова" in text and "26 500,00" in text
    assert watcher.errors == []
