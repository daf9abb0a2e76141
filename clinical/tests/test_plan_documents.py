"""What treatment plans give documents: the plan a document is printed for (an informed
consent names the plan and its cost), the plans the print dialog offers, the placeholders."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from calendar_app.tests.factories import ServiceFactory
from clinical import plans
from clinical.models import PlanStatus, TreatmentPlan
from documents import placeholders
from documents.context import PlanNotFound, build_context, load_plan, sample_context
from documents.models import PrintedDocument
from documents.tests.factories import make_template
from documents.tests.pdf import pdf_text
from patients.tests.factories import PatientFactory
from pricelist.models import Service

pytestmark = pytest.mark.django_db

PLAN_KEYS = [
    "plan_number",
    "plan_title",
    "plan_status",
    "plan_doctor",
    "plan_date",
    "plan_approved_date",
    "plan_services",
    "plan_total",
]
CONSENT = (
    "<p>Согласие по плану № {{plan_number}} «{{plan_title}}» ({{plan_status}}), "
    "врач {{plan_doctor}}, на сумму {{plan_total}} руб.</p>{{plan_services}}"
)


def service(code: str, name: str, price: str, per_tooth=False) -> Service:
    return Service.objects.filter(code=code).first() or ServiceFactory(
        code=code, name=name, price=Decimal(price), per_tooth=per_tooth
    )


def make_plan(doctor, branch, patient, *, approve=True, title="Санация") -> TreatmentPlan:
    """A plan with two fillings (7 500,00 each, teeth 36 and 46) and an examination (1 234,56
    twice): 17 469,12 in all."""
    plan = plans.plan_create(
        patient=patient, branch=branch, doctor=doctor.employee, by=doctor.user, title=title
    )
    filling = service("A16.07.002", "Пломба <светоотверждаемая>", "7500.00", per_tooth=True)
    plans.lines_add(plan=plan, service=filling, teeth_numbers=[36, 46], quantity=1, by=doctor.user)
    examination = service("B01.065.001", "Осмотр", "1234.56")
    plans.lines_add(plan=plan, service=examination, teeth_numbers=[], quantity=2, by=doctor.user)
    if approve:
        plan = plans.plan_set_status(plan=plan, status=PlanStatus.APPROVED, by=doctor.user)
    return plan


@pytest.fixture
def patient(branch):
    return PatientFactory(last_name="Согласова", branch=branch)


@pytest.fixture
def plan(doctor, branch, patient):
    return make_plan(doctor, branch, patient)


def client_of(persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def print_url(patient) -> str:
    return reverse("documents:patient-print", args=[patient.pk])


# --- The plan a document is printed for ------------------------------------------------------


def test_the_plan_placeholders_print_the_plans_number_status_doctor_dates_and_total(
    plan, doctor, branch, registrar
):
    chosen = load_plan(plan.pk, plan.patient, registrar.user)
    context = build_context(plan.patient, user=registrar.user, subjects={"plan": chosen})
    body = "|".join("{{" + key + "}}" for key in PLAN_KEYS if key != "plan_services")
    created = timezone.localtime(plan.created_at, branch.zone)
    approved = timezone.localtime(plan.approved_at, branch.zone)
    assert placeholders.fill(body, context).html.split("|") == [
        str(plan.number),
        "Санация",
        "Approved",
        doctor.employee.full_name,
        f"{created:%d.%m.%Y}",
        f"{approved:%d.%m.%Y}",
        "17\u00a0469,12",
    ]
    table = placeholders.fill("{{plan_services}}", context).html
    assert "<table" in table and "Пломба &lt;светоотверждаемая&gt;" in table
    assert "<td>36</td>" in table and "<td>46</td>" in table
    assert "2\u00a0469,12" in table  # the examination twice
    assert table.count("<tr>") == 5  # the header, three lines, the total


def test_a_template_printed_for_an_approved_plan_holds_its_number_total_and_services(
    plan, patient, registrar
):
    template = make_template("Согласие на лечение", CONSENT)
    client = client_of(registrar)
    preview = client.get(print_url(patient), {"template": template.pk, "plan": plan.pk})
    page = preview.content.decode()
    assert preview.status_code == 200
    assert f'<option value="{plan.pk}" selected>' in page
    assert f"plan={plan.pk}" in page  # the print button prints for the plan chosen
    assert "17\u00a0469,12" in page and 'data-missing-placeholder="plan_total"' not in page
    response = client.post(f"{print_url(patient)}?template={template.pk}&visit=&plan={plan.pk}")
    assert response.status_code == 200
    copy = PrintedDocument.objects.get(patient=patient)
    assert copy.missing == []
    with copy.file.open("rb") as stored:
        text = pdf_text(stored.read())
    assert f"Согласие по плану № {plan.number} «Санация»" in text
    assert "на сумму 17 469,12 руб." in text
    assert "Пломба <светоотверждаемая>" in text and "Осмотр" in text


def test_without_a_plan_its_placeholders_print_as_lines_to_fill(plan, patient, registrar):
    result = placeholders.fill(
        " ".join("{{" + key + "}}" for key in PLAN_KEYS), build_context(patient)
    )
    assert [p.key for p in result.missing] == PLAN_KEYS
    assert "Санация" not in result.html and "<table" not in result.html
    template = make_template("Согласие на лечение", CONSENT)
    client = client_of(registrar)
    page = client.get(print_url(patient), {"template": template.pk}).content.decode()
    assert 'data-missing-placeholder="plan_total"' in page
    client.post(f"{print_url(patient)}?template={template.pk}&visit=&plan=")
    copy = PrintedDocument.objects.get(patient=patient)
    assert copy.missing == [p.key for p in placeholders.used_in(CONSENT)]
    with copy.file.open("rb") as stored:
        assert "17 469,12" not in pdf_text(stored.read())


def test_a_draft_plan_prints_no_approval_date(doctor, branch, patient):
    draft = make_plan(doctor, branch, patient, approve=False)
    context = build_context(patient, subjects={"plan": draft})
    result = placeholders.fill("{{plan_status}} {{plan_approved_date}}", context)
    assert result.html.startswith("Draft ") and [p.key for p in result.missing] == [
        "plan_approved_date"
    ]


def test_a_plan_of_another_patient_or_branch_is_not_found(
    plan, patient, doctor_elsewhere, branch_elsewhere, registrar
):
    with pytest.raises(PlanNotFound):
        load_plan(plan.pk, PatientFactory(), registrar.user)
    elsewhere = make_plan(doctor_elsewhere, branch_elsewhere, patient)
    with pytest.raises(PlanNotFound):
        load_plan(elsewhere.pk, patient, registrar.user)
    assert load_plan(elsewhere.pk, patient, doctor_elsewhere.user) == elsewhere


@pytest.mark.parametrize(
    ("plan_param", "status"),
    [
        ("another patient's", 404),
        ("another branch's", 404),
        ("abc", 400),
        ("99999999999999999999", 400),
        ("12\x00", 400),
        ("-1", 400),
    ],
)
def test_a_plan_the_user_may_not_use_is_refused_and_nothing_is_printed(
    plan_param, status, plan, patient, doctor, doctor_elsewhere, branch, branch_elsewhere, registrar
):
    if plan_param == "another patient's":
        plan_param = str(make_plan(doctor, branch, PatientFactory(branch=branch)).pk)
    elif plan_param == "another branch's":
        plan_param = str(make_plan(doctor_elsewhere, branch_elsewhere, patient).pk)
    template = make_template("Согласие на лечение", CONSENT)
    client = client_of(registrar)
    preview = client.get(print_url(patient), {"template": template.pk, "plan": plan_param})
    assert preview.status_code == status
    query = urlencode({"template": template.pk, "plan": plan_param})
    printed = client.post(f"{print_url(patient)}?{query}")
    assert printed.status_code == status
    if status == 400:
        assert "Unknown treatment plan." in printed.content.decode() or (
            "control character" in printed.content.decode()
        )
    assert not PrintedDocument.objects.exists()


# --- The print dialog ------------------------------------------------------------------------


def test_the_dialog_offers_the_patients_plans_in_the_users_branches_newest_first(
    plan, patient, doctor, doctor_elsewhere, branch, branch_elsewhere, registrar
):
    draft = make_plan(doctor, branch, patient, approve=False, title="")
    cancelled = make_plan(doctor, branch, patient, approve=False)
    plans.plan_set_status(plan=cancelled, status=PlanStatus.CANCELLED, by=doctor.user)
    elsewhere = make_plan(doctor_elsewhere, branch_elsewhere, patient)
    someone_elses = make_plan(doctor, branch, PatientFactory(branch=branch))
    template = make_template("Согласие на лечение", CONSENT)
    page = client_of(registrar).get(print_url(patient), {"template": template.pk}).content.decode()
    offered = [
        f'<option value="{draft.pk}">Treatment plan No. {draft.number} · draft · 17\u00a0469,12'
        "</option>",
        f'<option value="{plan.pk}">Treatment plan No. {plan.number} · Санация · approved · '
        "17\u00a0469,12</option>",
    ]
    assert all(option in page for option in offered)
    assert page.index(offered[0]) < page.index(offered[1])
    for hidden in (cancelled, elsewhere, someone_elses):
        assert f'<option value="{hidden.pk}"' not in page
    assert '<select class="form-select form-select-sm" name="plan"' in page
    assert '<option value="">—</option>' in page


def test_a_patient_without_plans_gets_no_plan_choice(registrar):
    template = make_template("Согласие на лечение", CONSENT)
    patient = PatientFactory()
    page = client_of(registrar).get(print_url(patient), {"template": template.pk}).content.decode()
    assert 'name="plan"' not in page


def test_the_dialogs_queries_do_not_grow_with_the_number_of_plans(
    plan, patient, doctor, branch, registrar
):
    template = make_template("Согласие на лечение", CONSENT)
    client = client_of(registrar)
    client.get(print_url(patient), {"template": template.pk})
    with CaptureQueriesContext(connection) as few:
        client.get(print_url(patient), {"template": template.pk})
    for _number in range(4):
        make_plan(doctor, branch, patient)
    with CaptureQueriesContext(connection) as many:
        page = client.get(print_url(patient), {"template": template.pk}).content.decode()
    assert page.count("Treatment plan No.") == 5
    assert len(many) == len(few)
    with CaptureQueriesContext(connection) as chosen:
        client.get(print_url(patient), {"template": template.pk, "plan": plan.pk})
    assert len(chosen) <= len(few) + 3  # the plan, its lines with their services


# --- The editor and the plan's own print -------------------------------------------------------


def test_the_editor_offers_the_plan_placeholders_and_previews_their_samples(registrar_client):
    editor = registrar_client.get(reverse("documents:template-create")).content.decode()
    for key in PLAN_KEYS:
        assert f'data-placeholder="{key}"' in editor
    template = make_template("Согласие на лечение", CONSENT)  # the check on save knows them
    preview = placeholders.fill(template.current_version.body, sample_context())
    assert preview.missing == []
    assert "на сумму 21\u00a0000,00 руб." in preview.html and "Восстановление зуба" in preview.html


def test_the_plans_own_print_still_holds_its_lines_and_total(plan, doctor):
    pdf = client_of(doctor).get(reverse("clinical:plan-print", args=[plan.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "Согласова" in text and "17 469,12" in text and "Осмотр" in text
