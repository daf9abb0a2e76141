"""Templates: what is stored on save (sanitised, placeholders checked), versions, the
recycle bin, and the shipped defaults."""

import shutil
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from clinic import services as clinic_services
from clinic import trash
from clinic.models import AuditEntry, OutboxEvent
from documents import services
from documents.default_templates import DEFAULTS_DIR, ensure_default_templates, read_defaults
from documents.models import ImmutableRecord, Template, TemplateVersion, VersionOrigin
from documents.sanitize import sanitize
from documents.tests.factories import document_type, make_template

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "defaults"

WORD_PASTE = """
<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>
<style>p.MsoNormal { color: red; } body { background: url(https://evil.example/x.png) }</style>
<script>alert("head")</script></head>
<body onload="alert('body')">
<h1 style="text-align:center;font-family:'Times New Roman';font-size:16pt">Договор</h1>
<p class="MsoNormal" style="margin:0cm;text-align:justify;text-indent:35.4pt;color:red">
<b>Пациент</b> <i>{{fio}}</i> <u>согласен</u><o:p></o:p></p>
<p onclick="steal()" onmouseover="steal()">Текст <a href="javascript:steal()">ссылка</a>
<img src="https://evil.example/track.png" onerror="steal()"></p>
<iframe src="https://evil.example"></iframe><object data="x.swf"></object>
<table border="1" style="border-collapse:collapse;width:100%"><tr>
<td colspan="2" rowspan="1" style="border:solid windowtext 1.0pt;width:200pt">Услуга</td>
<td style="vertical-align:top;background-image:url(javascript:steal())">Цена</td></tr></table>
<ul><li>Один</li><li>Два</li></ul><ol start="3"><li>Три</li></ol>
<!--[if gte mso 9]><xml><o:shapedefaults/></xml><![endif]-->
<svg onload="steal()"><script>steal()</script></svg><style>p { color: blue }</style>
</body></html>
"""


def test_script_style_and_event_handlers_are_removed_on_save():
    template = make_template(body=WORD_PASTE)
    body = template.current_version.body
    for gone in (
        "<script",
        "<style",
        "alert(",
        "steal()",
        "onclick",
        "onload",
        "onmouseover",
        "onerror",
        "javascript:",
        "evil.example",
        "<iframe",
        "<object",
        "<svg",
        "<img",
        "<a ",
        "class=",
        "font-family",
        "color:",
        "mso",
        "<o:p",
    ):
        assert gone not in body, gone


def test_word_formatting_survives_the_cleaning():
    body = sanitize(WORD_PASTE)
    assert '<h1 style="text-align:center">Договор</h1>' in body
    assert "text-align:justify" in body and "text-indent:35.4pt" in body
    assert "<b>Пациент</b> <i>{{fio}}</i> <u>согласен</u>" in body
    assert '<td colspan="2" rowspan="1" style="border:solid windowtext 1.0pt;width:200pt">' in body
    assert "<ul><li>Один</li><li>Два</li></ul>" in body and '<ol start="3">' in body
    assert 'style="border-collapse:collapse;width:100%"' in body


def test_an_unknown_placeholder_is_refused_when_the_template_is_saved():
    before = Template.objects.count()
    with pytest.raises(ValidationError) as error:
        make_template(body="<p>{{fio}}, {{favourite_colour}}</p>")
    assert "{{favourite_colour}}" in error.value.messages[0]
    assert Template.objects.count() == before


def test_an_empty_text_is_refused():
    with pytest.raises(ValidationError):
        make_template(body="<script>only a script</script>")


def test_editing_the_text_keeps_the_earlier_versions(admin_persona):
    user = admin_persona.user
    template = make_template(body="<p>Первый {{fio}}</p>", by=user)
    first = template.current_version
    data = {
        "name": template.name,
        "document_type": template.document_type,
        "page_size": "A5",
        "packs": [],
    }
    template, second = services.template_update(
        template=template, by=user, data=data, body="<p>Второй {{fio}}</p>", base_version=1
    )
    assert (second.number, second.body, second.page_size) == (2, "<p>Второй {{fio}}</p>", "A5")
    assert template.current_version == second
    first.refresh_from_db()
    assert first.body == "<p>Первый {{fio}}</p>"
    assert list(template.versions.values_list("number", flat=True)) == [2, 1]
    # Saving the same text again adds nothing.
    _template, none = services.template_update(
        template=template, by=user, data=data, body="<p>Второй {{fio}}</p>", base_version=2
    )
    assert none is None
    assert AuditEntry.objects.filter(content_type__model="templateversion").count() == 2


def test_a_save_over_someone_elses_newer_version_is_refused(admin_persona):
    user = admin_persona.user
    template = make_template(by=user)
    data = {"name": "Новое", "document_type": template.document_type, "page_size": "A4"}
    services.template_update(
        template=template, by=user, data=data, body="<p>{{fio}} 2</p>", base_version=1
    )
    with translation.override("en"), pytest.raises(ValidationError, match="version 2"):
        services.template_update(
            template=template, by=user, data=data, body="<p>{{fio}} 3</p>", base_version=1
        )


def test_a_version_is_never_changed_or_deleted():
    version = make_template().current_version
    version.body = "<p>переписано</p>"
    with pytest.raises(ImmutableRecord):
        version.save()
    with pytest.raises(ImmutableRecord):
        version.delete()
    assert TemplateVersion.objects.get(pk=version.pk).body != "<p>переписано</p>"


def test_a_deleted_template_goes_to_the_recycle_bin_and_comes_back(admin_persona):
    template = make_template()
    services.template_delete(template=template, by=admin_persona.user)
    assert not Template.objects.filter(pk=template.pk).exists()
    section = trash.get_section("document-templates")
    assert list(section.deleted_for(admin_persona.user)) == [template]
    assert OutboxEvent.objects.filter(name="document_template.deleted").exists()
    clinic_services.object_restore(obj=template, by=admin_persona.user)
    assert Template.objects.filter(pk=template.pk).exists()


# --- The shipped defaults --------------------------------------------------------------


def test_the_defaults_load_once_and_again_change_nothing():
    counts = ensure_default_templates(directory=FIXTURES)
    assert counts == {"created": 2, "updated": 0, "kept": 0}
    contract = Template.objects.get(key="sample_contract")
    assert contract.name == "Договор (образец для тестов)"
    assert contract.document_type == document_type("contract")
    assert contract.packs == ["first_visit"]
    assert contract.current_version.origin == VersionOrigin.DEFAULT
    assert "{{license_date}}" in contract.body
    assert ensure_default_templates(directory=FIXTURES) == {"created": 0, "updated": 0, "kept": 2}
    samples = Template.objects.filter(key__startswith="sample_")
    assert samples.count() == 2
    assert TemplateVersion.objects.filter(template__in=samples).count() == 2


def test_loading_again_never_overwrites_what_the_clinic_edited_or_deleted(admin_persona, tmp_path):
    ensure_default_templates(directory=FIXTURES)
    contract = Template.objects.get(key="sample_contract")
    data = {"name": "Наш договор", "document_type": contract.document_type, "page_size": "A4"}
    services.template_update(
        template=contract, by=admin_persona.user, data=data, body="<p>Наш {{fio}}</p>",
        base_version=1,
    )  # fmt: skip
    consent = Template.objects.get(key="sample_consent")
    services.template_delete(template=consent, by=admin_persona.user)
    # A newer release ships new texts of both.
    shipped = tmp_path / "defaults"
    shutil.copytree(FIXTURES, shipped)
    for name in ("sample_contract.html", "sample_consent.html"):
        (shipped / name).write_text("<p>Новая редакция {{fio}}</p>", encoding="utf-8")
    assert ensure_default_templates(directory=shipped) == {"created": 0, "updated": 0, "kept": 2}
    contract.refresh_from_db()
    assert (contract.name, contract.body) == ("Наш договор", "<p>Наш {{fio}}</p>")
    assert not Template.objects.filter(key="sample_consent").exists()


def test_a_newer_shipped_text_reaches_the_templates_nobody_edited(tmp_path):
    ensure_default_templates(directory=FIXTURES)
    shipped = tmp_path / "defaults"
    shutil.copytree(FIXTURES, shipped)
    (shipped / "sample_consent.html").write_text("<p>Редакция 2 {{fio}}</p>", encoding="utf-8")
    assert ensure_default_templates(directory=shipped) == {"created": 0, "updated": 1, "kept": 1}
    consent = Template.objects.get(key="sample_consent")
    assert consent.current_version.number == 2 and consent.body == "<p>Редакция 2 {{fio}}</p>"


def test_the_shipped_defaults_use_only_known_placeholders():
    """Whatever documents/defaults/ holds (the texts arrive with their own change)."""
    from documents import placeholders

    for default in read_defaults(DEFAULTS_DIR):
        placeholders.normalize(sanitize(default.body))  # raises naming an unknown one
