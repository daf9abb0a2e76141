"""The Images tab with the mouse: upload an X-ray, see its preview in the grid and on the
tooth strip, open the viewer and zoom in, out and back to fit; find it in the X-ray log."""

import pytest
from playwright.sync_api import expect

from clinic import testing
from clinic.testing_browser import ConsoleWatcher, log_in, screenshot
from clinical.models import ClinicalImage
from clinical.tests.factories import png_bytes
from patients.tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_upload_an_x_ray_see_its_preview_and_zoom_it(page, asgi_live_server, tmp_path):
    testing.make_persona("doctor", testing.main_branch(), password="doctor")
    patient = PatientFactory()
    picture = tmp_path / "панорама.jpg"  # a PNG under a JPEG name: stored as the PNG it is
    picture.write_bytes(png_bytes((1600, 800), (70, 90, 110)))
    page.set_viewport_size({"width": 1280, "height": 900})
    watcher = ConsoleWatcher(page, asgi_live_server.url)
    log_in(page, asgi_live_server, "doctor", "doctor")
    page.goto(f"{asgi_live_server.url}/patients/{patient.pk}/images/")
    tab = page.locator("[data-clinical-images]")
    expect(tab.locator("[data-images-empty]")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")

    tab.locator("[data-image-upload] summary").click()
    form = tab.locator("[data-image-form]")
    form.locator("select[name=xray_type]").select_option("panoramic")
    form.locator("input[name=dose_msv]").fill("0.012")
    form.locator("input[name=teeth]").fill("36, 46")
    form.locator("input[name=file]").set_input_files(str(picture))
    form.locator("[data-image-submit]").click()

    tiles = tab.locator("[data-image-tile]")
    expect(tiles).to_have_count(1)
    thumb = tiles.first.locator("img[data-image-thumb]")
    expect(thumb).to_be_visible()
    page.wait_for_function("document.querySelector('[data-image-thumb]').naturalWidth > 0")
    expect(tab.locator("[data-strip-tooth='36']")).to_be_visible()
    image = ClinicalImage.objects.get()
    assert (image.file_format, image.xray_type, str(image.dose_msv)) == (
        "png",
        "panoramic",
        "0.012",
    )
    assert page.evaluate("window.stillTheSamePage === true")

    thumb.click()
    viewer = page.locator("#app-dialog [data-image-viewer]")
    expect(viewer).to_be_visible()
    # Loaded, and fitted: the viewer's script is set up by htmx some milliseconds after the
    # dialog shows, and the picture may load before or after it.
    page.wait_for_function(
        "document.querySelector('[data-zoom-image]').naturalWidth === 1600"
        " && Number(document.querySelector('[data-image-viewer]').dataset.zoom) < 1"
    )
    fit = float(viewer.get_attribute("data-zoom"))
    assert 0 < fit < 1  # 1600 px wide does not fit the dialog: shown whole, smaller
    viewer.locator("[data-zoom='in']").click()
    expect(viewer).not_to_have_attribute("data-zoom", f"{fit:.2f}")
    zoomed = float(viewer.get_attribute("data-zoom"))
    assert zoomed > fit
    width = page.evaluate(
        "document.querySelector('[data-zoom-image]').getBoundingClientRect().width"
    )
    assert abs(width - 1600 * zoomed) < 2
    screenshot(page, "clinical-images-viewer-1280")
    viewer.locator("[data-zoom='out']").click()
    expect(viewer).not_to_have_attribute("data-zoom", f"{zoomed:.2f}")
    viewer.locator("[data-zoom='fit']").click()
    expect(viewer).to_have_attribute("data-zoom", f"{fit:.2f}")
    viewer.locator("[data-dialog-close]").click()
    expect(viewer).to_be_hidden()

    tab.locator("[data-strip-tooth='36']").click()
    expect(tab.locator("[data-strip-tooth='36']")).to_have_class("btn btn-sm btn-secondary")
    expect(tiles).to_have_count(1)
    screenshot(page, "clinical-images-tab-1280")

    tab.locator("[data-xray-log-link]").click()
    entry = page.locator(f"[data-xray-entry='{image.pk}']")
    expect(entry).to_contain_text("0,012")
    expect(entry.locator("[data-year-sum]")).to_contain_text("0,012")
    screenshot(page, "clinical-xray-log-1280")
    assert watcher.errors == []
