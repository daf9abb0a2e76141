"""The Orthodontic card tab with the mouse: open a card, fill two sections, see them marked
filled in the list of sections, add a diary entry, print the card, and find it by a word of
its diary."""

import pytest
from playwright.sync_api import expect

from clinic import testing
from clinic.testing_browser import ConsoleWatcher, htmx_settled, log_in, screenshot
from clinical.models import OrthodonticCard, OrthodonticSection
from documents.tests.pdf import pdf_text
from patients.tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_fill_two_sections_and_print(page, asgi_live_server):
    testing.make_persona("doctor", testing.main_branch(), password="doctor")
    patient = PatientFactory(last_name="Брекетова")
    page.set_viewport_size({"width": 1280, "height": 900})
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    log_in(page, asgi_live_server, "doctor", "doctor")
    page.goto(f"{asgi_live_server.url}/patients/{patient.pk}/orthodontics/")
    tab = page.locator("#card-section-orthodontics")
    page.evaluate("window.stillTheSamePage = true")

    tab.locator("[data-ortho-create]").click()
    card_page = tab.locator("[data-ortho-card-page]")
    expect(card_page).to_be_visible()
    sections = tab.locator("[data-ortho-sections]")
    expect(sections.locator("[data-ortho-section]")).to_have_count(15)

    sections.locator("[data-ortho-section='complaints']").click()
    expect(tab.locator("[data-ortho-pane='complaints']")).to_be_visible()
    form = tab.locator("[data-ortho-form='complaints']")
    form.locator("input[value='appearance']").check()
    form.locator("textarea[name=text]").fill("Неровные передние зубы")
    form.locator("[data-ortho-save]").click()
    expect(tab.locator("[data-ortho-saved]")).to_be_visible()
    expect(sections.locator("[data-ortho-section='complaints']")).to_have_attribute(
        "data-filled", "1"
    )

    sections.locator("[data-ortho-section='oral']").click()
    expect(tab.locator("[data-ortho-pane='oral']")).to_be_visible()
    form = tab.locator("[data-ortho-form='oral']")
    form.locator("select[name=molars]").select_option("class2")
    form.locator("select[name=overbite]").select_option("deep")
    form.locator("[data-ortho-save]").click()
    expect(sections.locator("[data-ortho-section='oral']")).to_have_attribute("data-filled", "1")
    expect(sections.locator("[data-ortho-section='complaints']")).to_have_attribute(
        "data-filled", "1"
    )
    expect(sections.locator("[data-filled='1']")).to_have_count(2)

    sections.locator("[data-ortho-section='diary']").click()
    expect(tab.locator("[data-ortho-pane='diary']")).to_be_visible()
    form = tab.locator("[data-ortho-form='diary']")
    form.locator("input[name=on]").fill("2026-02-03")
    form.locator("textarea[name=text]").fill("Фиксация брекет-системы")
    form.locator("[data-ortho-save]").click()
    expect(tab.locator("[data-ortho-entry]")).to_have_count(1)
    expect(tab.locator("[data-ortho-entry]")).to_contain_text("03.02.2026")

    card = OrthodonticCard.objects.get(patient=patient)
    assert OrthodonticSection.objects.get(card=card, key="oral").data == {
        "molars": "class2",
        "overbite": "deep",
    }
    assert page.evaluate("window.stillTheSamePage === true")
    screenshot(page, "clinical-orthodontic-card-1280")

    href = tab.locator("[data-ortho-print]").get_attribute("href")
    response = page.request.get(f"{asgi_live_server.url}{href}")
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.body())
    assert "Брекетова" in text and "Неровные передние зубы" in text and "Class II" in text

    sections.locator("[data-ortho-section='oral']").click()
    expect(tab.locator("[data-ortho-pane='oral']")).to_be_visible()
    tab.locator("[data-ortho-reset-section]").click()
    page.locator("#app-confirm [data-confirm-ok]").click()
    expect(sections.locator("[data-ortho-section='oral']")).to_have_attribute("data-filled", "0")
    assert OrthodonticSection.objects.get(card=card, key="oral").data == {}

    tab.locator("[data-ortho-back]").click()
    expect(tab.locator("[data-ortho-card]")).to_have_count(1)

    # The search line: a word no card holds finds none, a word of the diary finds the card.
    htmx_settled(page)  # the list's search line must listen before it is typed in
    search = tab.locator("[data-ortho-search]")
    search.fill("ретейнер")
    expect(tab.locator("[data-ortho-no-match]")).to_be_visible()
    expect(tab.locator("[data-ortho-card]")).to_have_count(0)
    search.fill("брекет-системы")
    expect(tab.locator("[data-ortho-card]")).to_have_count(1)
    search.fill("ретейнер")
    expect(tab.locator("[data-ortho-no-match]")).to_be_visible()
    search.fill("")
    expect(tab.locator("[data-ortho-card]")).to_have_count(1)
    assert watcher.errors == []
