import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from clinic import files
from clinic.models import AuditEntry
from clinic.testing_urls import sample_png
from clinic.tests.factories import user_with_rights
from documents.models import PrintedDocument, PrintedStatus, Template
from documents.tests.factories import make_template, print_copies, printed_copy
from documents.tests.pdf import pdf_pages, pdf_text
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(branch):
    return PatientFactory(last_name="Петрова", first_name="Мария", email="", branch=branch)


def client_of(persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


# --- The module: templates ---------------------------------------------------------------


def test_the_list_searches_filters_by_type_and_pages(registrar_client):
    shipped = Template.objects.count()  # the default texts every clinic starts with
    act = make_template("Акт выполненных работ", code="act")
    make_template("Согласие на обработку", code="pd_consent")
    for number in range(30):
        make_template(f"Справка {number:02d}")
    response = registrar_client.get(reverse("documents:templates"), {"q": "выполненных"})
    assert response.status_code == 200
    assert f'data-template="{act.pk}"' in response.content.decode()
    assert response.content.decode().count("data-template=") == 1
    by_type = registrar_client.get(reverse("documents:templates"), {"type": act.document_type_id})
    assert by_type.content.decode().count("data-template=") == 1
    first_page = registrar_client.get(reverse("documents:templates"))
    assert first_page.content.decode().count("data-template=") == 25
    htmx = registrar_client.get(
        reverse("documents:templates"), {"page": 2}, headers={"HX-Request": "true"}
    )
    second_page = htmx.content.decode()
    assert "<html" not in second_page
    assert second_page.count("data-template=") == min(shipped + 32 - 25, 25)


def test_adding_a_template_stores_it_cleaned_with_its_placeholders(registrar_client):
    form = {
        "name": "Договор",
        "document_type": make_template().document_type_id,
        "page_size": "A4",
        "packs": ["first_visit"],
        "body": '<p onclick="x()">Пациент {{ fio }}, карта {{card_number}}</p><script>x()</script>',
    }
    response = registrar_client.post(reverse("documents:template-create"), form)
    template = Template.objects.get(name="Договор")
    assert response.status_code == 302
    assert response.url == reverse("documents:template-detail", args=[template.pk])
    assert template.body == "<p>Пациент {{fio}}, карта {{card_number}}</p>"
    assert template.packs == ["first_visit"]


def test_an_unknown_placeholder_is_refused_naming_it(registrar_client):
    form = {
        "name": "Договор",
        "document_type": make_template().document_type_id,
        "page_size": "A4",
        "body": "<p>{{fio}} {{nickname}}</p>",
    }
    response = registrar_client.post(reverse("documents:template-create"), form)
    assert response.status_code == 422
    assert "{{nickname}}" in response.content.decode()
    assert not Template.objects.filter(name="Договор").exists()


def test_the_editor_shows_the_placeholder_buttons_grouped(registrar_client):
    page = registrar_client.get(reverse("documents:template-create")).content.decode()
    for group in ("patient", "representative", "clinic", "branch", "doctor", "visit"):
        assert f'data-placeholder-group="{group}"' in page
    assert 'data-token="{{fio}}"' in page and 'data-token="{{company_name}}"' in page
    assert "vendor/jodit/jodit.min.js" in page


def test_editing_saves_a_new_version_and_the_old_one_stays_readable(registrar_client):
    template = make_template(body="<p>Первый {{fio}}</p>")
    form = {
        "name": template.name,
        "document_type": template.document_type_id,
        "page_size": "A4",
        "body": "<p>Второй {{fio}}</p>",
        "base_version": 1,
    }
    response = registrar_client.post(reverse("documents:template-edit", args=[template.pk]), form)
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.current_version.number == 2
    old = registrar_client.get(reverse("documents:template-version", args=[template.pk, 1]))
    assert "Первый" in old.content.decode() and "data-old-version" in old.content.decode()
    current = registrar_client.get(reverse("documents:template-detail", args=[template.pk]))
    assert "Второй" in current.content.decode() and 'data-version="1"' in current.content.decode()
    assert (
        registrar_client.get(reverse("documents:template-version", args=[template.pk, 9]))
    ).status_code == 404


def test_the_template_page_previews_a_sample_patient_and_prints_a_sample_pdf(registrar_client):
    template = make_template(body="<p>Пациент {{fio}}, СНИЛС {{snils}}</p>")
    page = registrar_client.get(reverse("documents:template-detail", args=[template.pk]))
    assert "Иванова Анна Петровна" in page.content.decode()
    pdf = registrar_client.get(reverse("documents:template-sample-pdf", args=[template.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf["Cache-Control"] == "private, no-store"
    assert "Пациент Иванова Анна Петровна, СНИЛС 112-233-445 95" in pdf_text(pdf.content)
    assert not PrintedDocument.objects.exists()


def test_deleting_asks_then_moves_the_template_to_the_recycle_bin(registrar_client):
    template = make_template()
    url = reverse("documents:template-delete", args=[template.pk])
    dialog = registrar_client.get(url, headers={"HX-Request": "true"})
    assert dialog.status_code == 200 and "data-delete-dialog" in dialog.content.decode()
    response = registrar_client.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("documents:templates")
    assert not Template.objects.filter(pk=template.pk).exists()
    assert Template.all_objects.get(pk=template.pk).deleted_at is not None


def test_viewing_templates_is_not_changing_them(coordinator):
    template = make_template()
    client = client_of(coordinator)  # documents: view only
    assert client.get(reverse("documents:templates")).status_code == 200
    assert client.get(reverse("documents:template-detail", args=[template.pk])).status_code == 200
    page = client.get(reverse("documents:templates")).content.decode()
    assert "data-add-template" not in page
    for name in ("template-edit", "template-delete"):
        assert client.get(reverse(f"documents:{name}", args=[template.pk])).status_code == 403
    assert client.get(reverse("documents:template-create")).status_code == 403


# --- The card ----------------------------------------------------------------------------


def test_the_cards_panel_lists_the_templates_and_the_printed_copies(registrar, patient):
    contract = make_template("Договор", packs=("first_visit",))
    consent = make_template("Согласие", packs=("first_visit",))
    make_template("Справка")
    [copy] = print_copies(patient, [contract], by=registrar.user)
    panel = client_of(registrar).get(reverse("documents:patient-documents", args=[patient.pk]))
    page = panel.content.decode()
    assert f'data-template-choice="{contract.pk}"' in page
    assert f"template={contract.pk}&amp;template={consent.pk}" in page  # the first-visit pack
    assert f'data-copy="{copy.pk}"' in page
    card = client_of(registrar).get(reverse("patients:card", args=[patient.pk])).content.decode()
    assert 'data-card-panel="documents"' in card


def test_the_preview_shows_the_patients_data_and_flags_what_is_missing(registrar, patient):
    template = make_template(body="<p>{{fio}}: {{email}}</p>")
    url = reverse("documents:patient-print", args=[patient.pk])
    response = client_of(registrar).get(url, {"template": template.pk})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Петрова Мария" in page
    assert 'data-missing-placeholder="email"' in page and 'data-missing="email"' in page
    assert not PrintedDocument.objects.exists()


def test_printing_keeps_a_copy_per_document_and_offers_one_pdf(registrar, patient):
    contract = make_template("Договор", "<p>Договор с {{fio}}</p>")
    consent = make_template("Согласие", "<p>Согласие {{fio_short}}</p>")
    client = client_of(registrar)
    url = reverse("documents:patient-print", args=[patient.pk])
    query = f"?template={contract.pk}&template={consent.pk}&visit="
    response = client.post(url + query, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "documentsChanged" in response["HX-Trigger"]
    copies = list(PrintedDocument.objects.order_by("position"))
    assert [c.title for c in copies] == ["Договор", "Согласие"]
    assert all(c.printed_by == registrar.user and c.patient == patient for c in copies)
    pdf_url = reverse("documents:copy-pdf", args=[copies[0].pk]) + "?batch=1"
    assert pdf_url in response.content.decode().replace("&amp;", "&")
    pdf = client.get(pdf_url)
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("inline;")
    text = pdf_text(pdf.content)
    assert "Договор с Петрова Мария" in text and "Согласие Петрова М." in text
    assert len(pdf_pages(pdf.content)) == 2
    viewed = AuditEntry.objects.filter(action="view", content_type__model="printeddocument")
    assert viewed.count() == 2 and all(entry.patient_id == patient.pk for entry in viewed)


def test_a_print_request_names_known_templates_only(registrar, patient):
    client = client_of(registrar)
    url = reverse("documents:patient-print", args=[patient.pk])
    template = make_template()
    chooser = client.get(url)
    assert (
        chooser.status_code == 200
        and f'data-template-choice="{template.pk}"' in chooser.content.decode()
    )
    assert client.post(url).status_code == 400
    assert client.get(url, {"template": "x1"}).status_code == 400
    assert client.get(url, {"template": "99999999999999999999"}).status_code == 400
    assert client.get(url, {"template": template.pk + 1000}).status_code == 404
    assert client.get(url, {"template": template.pk, "visit": "abc"}).status_code == 400
    assert client.get(url, {"template": template.pk, "visit": 10**12}).status_code == 404
    template.deleted_at = template.updated_at
    template.save(update_fields=["deleted_at"])
    assert client.get(url, {"template": template.pk}).status_code == 404


def test_the_status_changes_and_the_signed_scan_is_attached(registrar, patient):
    [copy] = print_copies(patient, [make_template()], by=registrar.user)
    client = client_of(registrar)
    status_url = reverse("documents:copy-status", args=[copy.pk])
    assert client.get(status_url).status_code == 405
    response = client.post(status_url, {"status": "refused"}, headers={"HX-Request": "true"})
    assert response.status_code == 204 and "documentsChanged" in response["HX-Trigger"]
    copy.refresh_from_db()
    assert copy.status == PrintedStatus.REFUSED
    scan_url = reverse("documents:copy-scan", args=[copy.pk])
    assert client.get(scan_url).status_code == 200
    bad = SimpleUploadedFile("scan.html", b"<script>alert(1)</script>", "text/html")
    assert client.post(scan_url, {"file": bad}).status_code == 422
    good = SimpleUploadedFile("Скан.png", sample_png(), "image/png")
    assert client.post(scan_url, {"file": good}, headers={"HX-Request": "true"}).status_code == 204
    scan = copy.scans.get()
    detail = client.get(reverse("documents:copy-detail", args=[copy.pk])).content.decode()
    assert f'data-scan="{scan.pk}"' in detail and files.url_for(scan) in detail
    assert client.get(files.url_for(scan)).status_code == 200


def test_who_may_open_the_card_may_print_but_changing_a_copy_changes_the_card(accountant, patient):
    """The accountant opens cards (patients: view) but does not change them."""
    template = make_template()
    client = client_of(accountant)
    url = reverse("documents:patient-print", args=[patient.pk]) + f"?template={template.pk}"
    assert client.post(url).status_code == 200
    copy = PrintedDocument.objects.get()
    assert client.get(reverse("documents:copy-pdf", args=[copy.pk])).status_code == 200
    assert (
        client.post(
            reverse("documents:copy-status", args=[copy.pk]), {"status": "signed"}
        ).status_code
        == 403
    )
    assert client.get(reverse("documents:copy-scan", args=[copy.pk])).status_code == 403


def test_a_user_who_may_not_open_the_card_cannot_download_its_documents(branch, patient):
    copy = printed_copy(patient)
    outsider = Client()
    outsider.force_login(
        user_with_rights("home_view", "documents_view", "documents_change", branch=branch)
    )
    for url in (
        files.url_for(copy),
        reverse("documents:copy-pdf", args=[copy.pk]),
        reverse("documents:copy-detail", args=[copy.pk]),
        reverse("documents:patient-documents", args=[patient.pk]),
        reverse("documents:patient-print", args=[patient.pk]) + "?template=1",
    ):
        assert outsider.get(url).status_code == 403, url


def test_the_documents_of_a_card_in_the_recycle_bin_are_not_served(admin_client, patient):
    copy = printed_copy(patient)
    patient.deleted_at = patient.created_at
    patient.save(update_fields=["deleted_at"])
    assert admin_client.get(files.url_for(copy)).status_code == 404
    assert admin_client.get(reverse("documents:copy-pdf", args=[copy.pk])).status_code == 404
