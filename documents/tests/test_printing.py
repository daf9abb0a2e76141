"""The renderer and printed copies: what the PDF says, and that a copy stays as printed."""

import datetime
import hashlib
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from clinic.models import AuditEntry, Organization, OutboxEvent
from clinic.testing_urls import sample_png
from clinic.writes import save_changes
from documents import rendering, services
from documents.context import build_context
from documents.models import ImmutableRecord, PrintedDocument, PrintedStatus
from documents.tests.factories import make_template, print_copies
from documents.tests.pdf import pdf_pages, pdf_text
from patients.models import LegalRepresentative
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

CONTRACT = """
<h1>Договор № {{card_number}}</h1>
<p style="text-align:right">{{today}}</p>
<p>{{company_name}} и пациент {{fio}} ({{birth_date}}), СНИЛС {{snils}}, заключили договор.</p>
<p>Законный представитель: {{rep_fio}}.</p>
<table><tr><td colspan="2">Подписи</td></tr>
<tr><td>{{company_director}}</td><td>{{fio_short}}</td></tr></table>
"""


def stored(copy) -> bytes:
    with copy.file.storage.open(copy.file.name, "rb") as handle:
        return handle.read()


@pytest.fixture
def organization():
    organization = Organization.objects.get_or_create(pk=1)[0]
    organization.legal_name = "ООО «Одонта»"
    organization.director = "Орлов В. Г."
    organization.legal_address = "125009, г. Москва, ул. Тверская, д. 12"
    organization.medical_license = "Л041-01137-77/00368412"
    organization.license_issued_on = datetime.date(2021, 3, 12)
    organization.save()
    Organization.forget_cached()
    return organization


@pytest.fixture
def patient(branch):
    return PatientFactory(
        last_name="Петрова",
        first_name="Мария",
        middle_name="Ивановна",
        birth_date=datetime.date(1985, 5, 17),
        snils="11223344595",
        branch=branch,
    )


def test_the_pdf_holds_the_patients_and_the_clinics_data(organization, patient, registrar):
    template = make_template("Договор", CONTRACT)
    [copy] = print_copies(patient, [template], by=registrar.user)
    text = pdf_text(stored(copy))
    for expected in (
        f"Договор № {patient.card_number}",
        "ООО «Одонта» и пациент Петрова Мария Ивановна (17.05.1985), СНИЛС 112-233-445 95",
        "Орлов В. Г. Петрова М. И.",
        # The letterhead.
        "125009, г. Москва, ул. Тверская, д. 12",
        "Л041-01137-77/00368412",
        "12.03.2021",
    ):
        assert expected in text, expected
    assert re.search(r"\b1 ?/ ?1$", text)  # the page number
    assert copy.missing == ["rep_fio"]
    assert "Законный представитель: ____________________" in text


def test_a_childs_contract_names_the_representative_in_the_pdf(organization, registrar):
    child = PatientFactory(last_name="Петров", first_name="Миша", middle_name="Олегович")
    LegalRepresentative.objects.create(
        patient=child, relation="father", last_name="Петров", first_name="Олег"
    )
    [copy] = print_copies(child, [make_template("Договор", CONTRACT)], by=registrar.user)
    assert "Законный представитель: Петров Олег." in pdf_text(stored(copy))
    assert copy.missing == ["snils"]


def test_a5_templates_print_on_a5_and_a4_on_a4(registrar, patient):
    a5 = make_template("Памятка", "<p>{{fio}}</p>", page_size="A5")
    a4 = make_template("Справка", "<p>{{fio}}</p>")
    copies = print_copies(patient, [a5, a4], by=registrar.user)
    sizes = [tuple(round(float(v)) for v in pdf_pages(stored(c))[0].mediabox[2:]) for c in copies]
    assert sizes == [(420, 595), (595, 842)]


def test_a_pack_prints_each_document_as_its_own_copy_in_one_batch(registrar, patient):
    long_text = "".join(f"<p>Пункт {n}. " + "Текст договора. " * 40 + "</p>" for n in range(30))
    contract = make_template("Договор", "<h1>Договор</h1>" + long_text + "<p>{{fio}}</p>")
    consent = make_template("Согласие", "<p>Я, {{fio}}, согласна.</p>")
    copies = print_copies(patient, [contract, consent], by=registrar.user)
    assert [c.position for c in copies] == [0, 1]
    assert copies[0].batch == copies[1].batch
    assert copies[0].pages > 1 and copies[1].pages == 1
    contents = [stored(c) for c in copies]
    assert len(pdf_pages(rendering.combine(contents))) == copies[0].pages + 1
    # Each document numbers its own pages.
    assert re.search(rf"\b1 ?/ ?{copies[0].pages}\b", pdf_text(contents[0]))
    assert re.search(r"\b1 ?/ ?1$", pdf_text(contents[1]))


def test_a_copy_records_what_it_was_printed_from(registrar, patient, branch):
    template = make_template()
    [copy] = print_copies(patient, [template], by=registrar.user, branch=branch)
    copy.refresh_from_db()
    content = stored(copy)
    assert copy.sha256 == hashlib.sha256(content).hexdigest()
    assert (copy.template_version, copy.printed_by, copy.branch, copy.patient) == (
        template.current_version,
        registrar.user,
        branch,
        patient,
    )
    assert copy.title == template.name and copy.status == PrintedStatus.PRINTED
    assert (
        copy.file.name.startswith("documents/printed/") and patient.last_name not in copy.file.name
    )
    entry = AuditEntry.objects.filter(content_type__model="printeddocument").latest("id")
    assert (entry.action, entry.patient_id) == ("create", patient.pk)
    event = OutboxEvent.objects.get(name="document.printed")
    assert event.payload["patient_id"] == patient.pk


def test_a_printed_copy_cannot_be_changed(registrar, patient):
    [copy] = print_copies(patient, [make_template()], by=registrar.user)
    content = stored(copy)
    copy.title = "Подменённый"
    with pytest.raises(ImmutableRecord):
        copy.save()
    with pytest.raises(ImmutableRecord):
        copy.save(update_fields=["title", "status"])
    with pytest.raises(ImmutableRecord):
        PrintedDocument.objects.filter(pk=copy.pk).update(file="documents/printed/other.pdf")
    with pytest.raises(ImmutableRecord):
        PrintedDocument.objects.filter(pk=copy.pk).delete()
    with pytest.raises(ImmutableRecord):
        copy.delete()
    # The services' common write path refuses it too.
    with pytest.raises(ImmutableRecord), transaction.atomic():
        save_changes(copy, by=registrar.user, data={"title": "Подменённый"})
    fresh = PrintedDocument.objects.get(pk=copy.pk)
    assert fresh.title != "Подменённый" and stored(fresh) == content


def test_a_later_template_version_leaves_the_printed_copy_as_it_was(registrar, patient):
    template = make_template(body="<p>Старый текст {{fio}}</p>")
    [copy] = print_copies(patient, [template], by=registrar.user)
    services.template_update(
        template=template,
        by=registrar.user,
        data={"name": "Новое имя", "document_type": template.document_type, "page_size": "A4"},
        body="<p>Новый текст {{fio}}</p>",
        base_version=1,
    )
    copy.refresh_from_db()
    assert copy.template_version.number == 1
    assert "Старый текст" in pdf_text(stored(copy))


def test_the_status_moves_with_a_history(registrar, patient):
    [copy] = print_copies(patient, [make_template()], by=registrar.user)
    services.printed_set_status(document=copy, by=registrar.user, status=PrintedStatus.REFUSED)
    services.printed_set_status(document=copy, by=registrar.user, status=PrintedStatus.SIGNED)
    copy.refresh_from_db()
    assert copy.status == PrintedStatus.SIGNED
    history = [(c.from_status, c.to_status) for c in copy.status_changes.all()]
    assert history == [("printed", "refused"), ("refused", "signed")]
    with pytest.raises(ValidationError):
        services.printed_set_status(document=copy, by=registrar.user, status="lost")


def test_a_signed_scan_is_kept_with_its_copy_and_marks_it_signed(registrar, patient):
    [copy] = print_copies(patient, [make_template()], by=registrar.user)
    upload = SimpleUploadedFile("Скан договора Петровой.png", sample_png(), "image/png")
    scan = services.printed_attach_scan(document=copy, by=registrar.user, upload=upload)
    copy.refresh_from_db()
    assert copy.status == PrintedStatus.SIGNED
    assert scan.original_name == "Скан договора Петровой.png"
    assert scan.file.name.startswith("documents/signed/") and "Петровой" not in scan.file.name
    assert scan.sha256 == hashlib.sha256(sample_png()).hexdigest()
    with pytest.raises(ImmutableRecord):
        scan.save()


# --- The renderer ----------------------------------------------------------------------


def test_built_in_layouts_render_through_the_same_renderer(
    organization, patient, tmp_path, settings
):
    engine = {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}
    settings.TEMPLATES = [engine, *settings.TEMPLATES[1:]]
    (tmp_path / "plan_test.html").write_text(
        "<h1>План лечения № {{ object.number }}</h1><p>{{ ctx.patient.full_name }}</p>"
        "<p>{{ note }}</p>",
        encoding="utf-8",
    )
    rendering.register_layout(
        rendering.Layout(
            "plan_test",
            "plan_test.html",
            title=lambda plan: f"План № {plan['number']}",
            context=lambda plan, ctx: {"note": "<b>не HTML</b>"},
            page_size="A5",
        )
    )
    try:
        piece = rendering.layout_piece("plan_test", {"number": 7}, build_context(patient))
        [result] = rendering.render([piece], organization)
    finally:
        rendering._layouts.pop("plan_test")
    text = pdf_text(result.pdf)
    assert "План лечения № 7 Петрова Мария Ивановна <b>не HTML</b>" in text  # autoescaped
    assert "ООО «Одонта»" in text and piece.title == "План № 7"


def test_the_logo_is_on_the_letterhead_and_nothing_is_fetched(organization, patient):
    organization.logo.save("logo.png", ContentFile(sample_png()))
    Organization.forget_cached()
    rendering._logo_data_uri.cache_clear()
    piece = rendering.Piece("Тест", rendering.mark_safe("<p>Текст</p>"))
    html = rendering.document_html(piece, Organization.load())
    assert 'src="data:image/png;base64,' in html
    [result] = rendering.render([piece], Organization.load())
    assert len(pdf_pages(result.pdf)) == 1
    _fonts, _css, fetcher = rendering._weasy()
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"
    for url in ("https://example.com/x.png", "file:///etc/passwd", "ftp://example.com/x"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_the_renderer_warms_up_without_a_database_or_a_complaint(caplog):
    """Web processes call it in a thread at start, so that the first print is not slow."""
    from documents import rendering

    rendering.warm_up()
    assert "failed" not in caplog.text


def test_a_print_that_fails_leaves_no_file_behind(registrar, patient, monkeypatch):
    """The second copy of a pack fails to save: no row and no file of the first remain."""
    from django.core.files.storage import default_storage

    first, second = make_template("Первый"), make_template("Второй")
    saved_names = []
    real_save = PrintedDocument.save

    def save_then_fail_on_the_second(self, *args, **kwargs):
        saved_names.append(self.file.name)
        if len(saved_names) == 2:
            raise RuntimeError("the database went away")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(PrintedDocument, "save", save_then_fail_on_the_second)
    with pytest.raises(RuntimeError):
        print_copies(patient, [first, second], by=registrar.user)
    assert not PrintedDocument.objects.exists()
    assert saved_names and not [name for name in saved_names if default_storage.exists(name)]
