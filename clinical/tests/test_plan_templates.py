"""The reference book of treatment plan templates: its own screen under the reference
books, its lines by profession, and the flag on a template whose service left the price
list."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from calendar_app.tests.factories import ServiceFactory
from clinic.models import AuditEntry, Profession
from clinical.models import Diagnosis, PlanTemplate, PlanTemplateLine

pytestmark = pytest.mark.django_db


def profession() -> Profession:
    return Profession.objects.get_or_create(name="Хирург", kind="doctor")[0]


def body(diagnoses, lines, **extra) -> dict:
    data = {
        "name": "Имплантация",
        "description": "Имплантат и коронка",
        "diagnoses": [d.pk for d in diagnoses],
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        **extra,
    }
    for number, line in enumerate(lines):
        for key, value in line.items():
            data[f"lines-{number}-{key}"] = value
    return data


def test_the_index_leads_to_the_templates_screen(admin_client):
    html = admin_client.get(reverse("clinic:reference-index")).content.decode()
    assert reverse("clinical:plan-templates") in html
    response = admin_client.get(reverse("clinic:reference-book", args=["plan-templates"]))
    assert response.status_code == 302 and response.url == reverse("clinical:plan-templates")


def test_a_template_opened_as_a_reference_entry_leads_to_its_own_page(admin_client):
    template = PlanTemplate.objects.create(name="Имплантация")
    url = reverse("clinic:reference-item-update", args=["plan-templates", template.pk])
    response = admin_client.get(url)
    assert response.status_code == 302
    assert response.url == reverse("clinical:plan-template", args=[template.pk])


def test_a_template_is_made_with_its_diagnoses_and_lines(admin_client):
    implant = ServiceFactory(per_tooth=True, price=Decimal("42000.00"))
    k081 = Diagnosis.objects.get(code="K08.1")
    line = {"profession": profession().pk, "service": implant.pk, "hours": "1.5", "quantity": "1"}
    response = admin_client.post(
        reverse("clinical:plan-template-new"), body([k081], [line, {"hours": "0", "quantity": "1"}])
    )
    assert response.status_code == 302
    template = PlanTemplate.objects.get(name="Имплантация")
    assert list(template.diagnoses.values_list("code", flat=True)) == ["K08.1"]
    assert list(template.lines.values_list("service", "hours")) == [(implant.pk, Decimal("1.50"))]
    entry = AuditEntry.objects.filter(object_id=str(template.pk), action="create").get()
    assert entry.changes["lines"][1] and entry.changes["diagnoses"][1] == [k081.pk]
    listing = admin_client.get(reverse("clinical:plan-templates")).content.decode()
    assert "Имплантация" in listing and "K08.1" in listing and "1.50" in listing


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"quantity": "0"}, "at least 1"),
        ({"hours": "-1"}, "greater than or equal to 0"),
        ({"service": "99999999"}, "not in the price list"),
    ],
)
def test_bad_template_lines_are_refused(admin_client, line, message):
    service = ServiceFactory()
    good = {"profession": profession().pk, "service": service.pk, "hours": "1", "quantity": "1"}
    response = admin_client.post(
        reverse("clinical:plan-template-new"),
        body([Diagnosis.objects.get(code="K02.1")], [{**good, **line}]),
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not PlanTemplate.objects.exists()


def test_a_template_without_diagnoses_is_refused(admin_client):
    response = admin_client.post(reverse("clinical:plan-template-new"), body([], []))
    assert response.status_code == 422
    assert not PlanTemplate.objects.exists()


def test_a_template_with_a_deleted_service_is_flagged_and_must_be_mended(admin_client):
    gone = ServiceFactory(name="Снятая услуга", deleted_at=timezone.now())
    template = PlanTemplate.objects.create(name="Старый шаблон")
    template.diagnoses.set([Diagnosis.objects.get(code="K02.1")])
    line = PlanTemplateLine.objects.create(
        template=template, service=gone, profession=profession(), hours=1
    )
    listing = admin_client.get(reverse("clinical:plan-templates")).content.decode()
    assert "data-plan-template-broken" in listing and "Снятая услуга" in listing
    url = reverse("clinical:plan-template", args=[template.pk])
    page = admin_client.get(url).content.decode()
    assert "data-plan-template-broken" in page and "Снятая услуга" in page
    kept = {"id": line.pk, "profession": profession().pk, "service": gone.pk, "hours": "1"}
    response = admin_client.post(
        url,
        body(
            [Diagnosis.objects.get(code="K02.1")],
            [{**kept, "quantity": "1"}],
            name="Старый шаблон",
            **{"lines-INITIAL_FORMS": "1"},
        ),
    )
    assert response.status_code == 422 and "not in the price list" in response.content.decode()
    deleted = {**kept, "quantity": "1", "DELETE": "on"}
    response = admin_client.post(
        url,
        body(
            [Diagnosis.objects.get(code="K02.1")],
            [deleted],
            name="Старый шаблон",
            **{"lines-INITIAL_FORMS": "1"},
        ),
    )
    assert response.status_code == 302
    assert not template.lines.exists()


def test_a_doctor_reads_the_templates_but_does_not_change_them(doctor_client):
    template = PlanTemplate.objects.create(name="Шаблон")
    assert doctor_client.get(reverse("clinical:plan-templates")).status_code == 200
    url = reverse("clinical:plan-template", args=[template.pk])
    assert doctor_client.get(url).status_code == 403
    assert doctor_client.post(reverse("clinical:plan-template-new"), {}).status_code == 403


def test_a_template_is_deactivated_to_the_recycle_bin(admin_client):
    template = PlanTemplate.objects.create(name="Шаблон")
    assert admin_client.delete(reverse("clinical:plan-template-new")).status_code == 405
    response = admin_client.post(
        reverse("clinic:reference-item-delete", args=["plan-templates", template.pk])
    )
    assert response.status_code == 302
    assert PlanTemplate.all_objects.get(pk=template.pk).deleted_at is not None
