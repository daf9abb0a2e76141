"""What the calendar gives documents: the visit a document is printed for, its placeholders."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from calendar_app.models import AppointmentService
from calendar_app.tests.factories import AppointmentFactory, ServiceFactory
from clinic.tests.factories import ChairFactory, EmployeeFactory, user_with_rights
from documents import placeholders
from documents.context import VisitNotFound, build_context
from documents.tests.factories import make_template
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(branch):
    doctor = EmployeeFactory(last_name="Хирургова", first_name="Ольга", branches=[branch])
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(hours=2)
    appointment = AppointmentFactory(
        patient=PatientFactory(attending_doctor=EmployeeFactory(last_name="Лечащий")),
        doctor=doctor,
        chair=ChairFactory(branch=branch),
        start=start,
    )
    for code, name, price, quantity in (
        ("A16.07.002", "Пломба <светоотверждаемая>", "4500.00", 1),
        ("B01.065.001", "Осмотр", "1200.50", 2),
    ):
        service = ServiceFactory(code=code, name=name, price=Decimal(price))
        AppointmentService.objects.create(
            appointment=appointment, service=service, price=Decimal(price), quantity=quantity
        )
    return appointment


def test_a_document_printed_for_a_visit_has_its_date_services_doctor_and_branch(
    visit, branch, registrar
):
    context = build_context(visit.patient, user=registrar.user, visit_id=visit.pk)
    local = timezone.localtime(visit.start, branch.zone)
    body = "{{visit_date}} {{visit_time}}|{{visit_total}}|{{doctor_fio}}|{{branch_name}}"
    result = placeholders.fill(body, context)
    assert result.html.split("|") == [
        f"{local:%d.%m.%Y} {local:%H:%M}",
        "6\u00a0901,00",
        visit.doctor.full_name,  # the visit's doctor, not the attending one
        branch.name,
    ]
    table = placeholders.fill("{{visit_services}}", context).html
    assert "<table" in table and "Пломба &lt;светоотверждаемая&gt;" in table
    assert "4\u00a0500,00" in table and "2\u00a0401,00" in table


def test_without_a_visit_its_placeholders_are_lines_to_fill(visit):
    context = build_context(visit.patient)
    result = placeholders.fill("{{visit_date}} {{visit_services}}", context)
    assert [p.key for p in result.missing] == ["visit_date", "visit_services"]
    assert context.doctor.last_name == "Лечащий"


def test_a_visit_of_another_patient_or_branch_is_not_found(visit, branch_elsewhere, doctor):
    with pytest.raises(VisitNotFound):
        build_context(PatientFactory(), user=doctor.user, visit_id=visit.pk)
    outsider = user_with_rights("patients_view", branch=branch_elsewhere)
    with pytest.raises(VisitNotFound):
        build_context(visit.patient, user=outsider, visit_id=visit.pk)


def test_the_print_dialog_offers_the_visits_and_takes_todays_by_default(visit, registrar):
    template = make_template(body="<p>{{visit_date}} {{visit_total}}</p>")
    client = Client()
    client.force_login(registrar.user)
    url = reverse("documents:patient-print", args=[visit.patient.pk])
    page = client.get(url, {"template": template.pk}).content.decode()
    local = timezone.localtime(visit.start, visit.branch.zone)
    today = local.date() == timezone.localtime(timezone.now(), visit.branch.zone).date()
    assert f'<option value="{visit.pk}"' in page
    if today:
        assert f'<option value="{visit.pk}" selected>' in page
        assert "6\u00a0901,00" in page
    # "no visit" chosen: its placeholders are flagged instead.
    page = client.get(url, {"template": template.pk, "visit": ""}).content.decode()
    assert 'data-missing-placeholder="visit_date"' in page
    client.post(f"{url}?template={template.pk}&visit={visit.pk}")
    assert visit.patient.printed_documents.get().visit_id == visit.pk


def test_a_visit_on_the_card_offers_its_documents(visit, registrar):
    template = make_template()
    client = Client()
    client.force_login(registrar.user)
    panel = client.get(reverse("calendar:patient-visits", args=[visit.patient.pk])).content.decode()
    print_url = reverse("documents:patient-print", args=[visit.patient.pk]) + f"?visit={visit.pk}"
    assert f'data-dialog-url="{print_url}"' in panel
    chooser = client.get(print_url).content.decode()
    assert f'<input type="hidden" name="visit" value="{visit.pk}">' in chooser
    assert f"?template={template.pk}&amp;visit={visit.pk}" in chooser
