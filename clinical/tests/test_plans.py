"""Treatment plans (issue 10, story 5) and their filling from templates (story 6): the
services, the ranking of "Suggest", the card's tab and the print."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calendar_app.tests.factories import ServiceFactory
from clinic.models import AuditEntry, OutboxEvent, Profession
from clinical import plan_selectors, plans
from clinical.models import (
    Diagnosis,
    PlanLine,
    PlanStatus,
    PlanTemplate,
    PlanTemplateLine,
    ToothRecord,
    TreatmentPlan,
)
from documents.tests.pdf import pdf_text
from patients import timeline
from patients.models import PatientEvent
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def dx(code: str) -> Diagnosis:
    return Diagnosis.objects.get(code=code)


def new_plan(doctor, branch, patient=None) -> TreatmentPlan:
    return plans.plan_create(
        patient=patient or PatientFactory(), branch=branch, doctor=doctor.employee, by=doctor.user
    )


def filling(**kwargs):
    return ServiceFactory(
        code=kwargs.pop("code", "A16.07.002.010"),
        name="Пломба",
        price=Decimal("7500.00"),
        per_tooth=True,
        **kwargs,
    )


def add(plan, doctor, service, teeth=(), quantity=1, **kwargs):
    return plans.lines_add(
        plan=plan,
        service=service,
        teeth_numbers=list(teeth),
        quantity=quantity,
        by=doctor.user,
        **kwargs,
    )


def profession() -> Profession:
    return Profession.objects.get_or_create(name="Терапевт", kind="doctor")[0]


def template(name, codes, services=(), **kwargs) -> PlanTemplate:
    made = PlanTemplate.objects.create(name=name, **kwargs)
    made.diagnoses.set([dx(code) for code in codes])
    for position, service in enumerate(services, start=1):
        PlanTemplateLine.objects.create(
            template=made,
            service=service,
            profession=profession(),
            hours=Decimal("0.5"),
            position=position,
        )
    return made


def chart(patient, code, *teeth):
    return [
        ToothRecord.objects.create(patient=patient, tooth=tooth, diagnosis=dx(code))
        for tooth in teeth
    ]


# --- Services ---------------------------------------------------------------------------------


def test_plans_are_numbered_per_patient_with_a_first_stage_audited_and_published(doctor, branch):
    patient = PatientFactory()
    first = new_plan(doctor, branch, patient)
    second = new_plan(doctor, branch, patient)
    other = new_plan(doctor, branch)
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert [stage.name for stage in first.stages.all()] == ["Stage 1"]
    assert first.status == PlanStatus.DRAFT and first.branch == branch
    assert AuditEntry.objects.filter(patient_id=patient.pk, action="create").count() >= 2
    event = OutboxEvent.objects.filter(name="treatment_plan.created").first()
    assert event.payload["patient_id"] in (patient.pk, other.patient_id)


def test_a_per_tooth_service_adds_a_line_per_tooth_at_the_price_it_has_then(doctor, branch):
    plan = new_plan(doctor, branch)
    service = filling()
    lines = add(plan, doctor, service, teeth=[36, 46], quantity=2, diagnosis=dx("K02.1"))
    assert sorted(line.tooth for line in lines) == [36, 46]
    service.price = Decimal("9000.00")
    service.save()
    view = plan_selectors.plan_view(plan)
    assert [line.price for line in view.stages[0].lines] == [Decimal("7500.00")] * 2
    assert view.total == Decimal("30000.00")
    consultation = ServiceFactory(price=Decimal("1234.56"), per_tooth=False)
    (line,) = add(plan, doctor, consultation, teeth=[36, 46], quantity=3)
    assert line.tooth is None  # a service not priced per tooth: once, for the visit
    assert plan_selectors.plan_view(plan).total == Decimal("33703.68")


@pytest.mark.parametrize(
    ("teeth", "quantity", "message"),
    [
        ([19], 1, "no tooth 19"),
        ([], 1, "priced per tooth: choose the teeth"),
        ([36], 0, "quantity must be a whole number from 1"),
        ([36], -2, "quantity must be a whole number from 1"),
    ],
)
def test_bad_lines_are_refused(doctor, branch, teeth, quantity, message):
    plan = new_plan(doctor, branch)
    with pytest.raises(ValidationError, match=message):
        add(plan, doctor, filling(), teeth=teeth, quantity=quantity)
    assert not PlanLine.objects.exists()


def test_a_deactivated_service_is_refused(doctor, branch):
    plan = new_plan(doctor, branch)
    service = filling(deleted_at=timezone.now())
    with pytest.raises(ValidationError, match="no longer in the price list"):
        add(plan, doctor, service, teeth=[36])


def test_statuses_move_only_forward_and_a_non_draft_is_not_edited(
    doctor, branch, django_capture_on_commit_callbacks
):
    plan = new_plan(doctor, branch)
    with pytest.raises(ValidationError, match="empty plan cannot be approved"):
        plans.plan_set_status(plan=plan, status=PlanStatus.APPROVED, by=doctor.user)
    with pytest.raises(ValidationError, match="draft plan cannot become completed"):
        plans.plan_set_status(plan=plan, status=PlanStatus.COMPLETED, by=doctor.user)
    (line,) = add(plan, doctor, filling(), teeth=[36])
    with django_capture_on_commit_callbacks(execute=True):
        plan = plans.plan_set_status(plan=plan, status=PlanStatus.APPROVED, by=doctor.user)
    assert plan.approved_at is not None and plan.approved_by == doctor.user
    for edit in (
        lambda: add(plan, doctor, filling(code="X-2"), teeth=[11]),
        lambda: plans.line_update(line=line, quantity=3, by=doctor.user),
        lambda: plans.line_remove(line=line, by=doctor.user),
        lambda: plans.stage_add(plan=plan, by=doctor.user),
    ):
        with pytest.raises(ValidationError, match="approved: only a draft plan can be edited"):
            edit()
    with django_capture_on_commit_callbacks(execute=True):
        plans.plan_set_status(plan=plan, status=PlanStatus.COMPLETED, by=doctor.user)
    with pytest.raises(ValidationError, match="completed plan cannot become cancelled"):
        plans.plan_set_status(plan=plan, status=PlanStatus.CANCELLED, by=doctor.user)
    names = set(PatientEvent.objects.filter(patient=plan.patient).values_list("name", flat=True))
    assert {"treatment_plan.approved", "treatment_plan.completed"} <= names
    entry = PatientEvent.objects.get(patient=plan.patient, name="treatment_plan.approved")
    assert timeline.render(entry)[1] == f"Treatment plan No. {plan.number} approved"


def test_approving_a_plan_with_a_service_since_deactivated_is_refused(doctor, branch):
    plan = new_plan(doctor, branch)
    service = filling()
    add(plan, doctor, service, teeth=[36])
    service.deleted_at = timezone.now()
    service.save()
    with pytest.raises(ValidationError, match="no longer in the price list"):
        plans.plan_set_status(plan=plan, status=PlanStatus.APPROVED, by=doctor.user)


def test_only_an_approved_plan_is_invoiceable(doctor, branch):
    plan = new_plan(doctor, branch)
    with pytest.raises(ValidationError, match="An invoice cannot be made from a draft plan"):
        plans.ensure_invoiceable(plan)
    assert not plans.plan_invoiceable(plan)
    add(plan, doctor, filling(), teeth=[36])
    plan = plans.plan_set_status(plan=plan, status=PlanStatus.APPROVED, by=doctor.user)
    plans.ensure_invoiceable(plan)
    assert plans.plan_invoiceable(plan)
    plan = plans.plan_set_status(plan=plan, status=PlanStatus.CANCELLED, by=doctor.user)
    with pytest.raises(ValidationError, match="cancelled plan"):
        plans.ensure_invoiceable(plan)


def test_stages_hold_their_lines_and_totals(doctor, branch):
    plan = new_plan(doctor, branch)
    second = plans.stage_add(plan=plan, by=doctor.user)
    assert second.name == "Stage 2" and second.position == 2
    first_line, other = add(plan, doctor, filling(), teeth=[36, 37])
    plans.line_update(line=other, stage=second, quantity=2, by=doctor.user)
    view = plan_selectors.plan_view(plan)
    assert [(s.stage.name, s.total) for s in view.stages] == [
        ("Stage 1", Decimal("7500.00")),
        ("Stage 2", Decimal("15000.00")),
    ]
    with pytest.raises(ValidationError, match="Move or remove the stage's lines first"):
        plans.stage_remove(stage=second, by=doctor.user)
    foreign = plans.stage_add(plan=new_plan(doctor, branch), by=doctor.user)
    with pytest.raises(ValidationError, match="another plan"):
        plans.line_update(line=first_line, stage=foreign, by=doctor.user)
    plans.line_remove(line=other, by=doctor.user)
    plans.stage_remove(stage=second, by=doctor.user)
    assert plan_selectors.plan_view(plan).total == Decimal("7500.00")
    assert OutboxEvent.objects.filter(name="treatment_plan.changed").count() >= 4


def test_stages_are_renamed_and_reordered_on_a_draft_only(doctor, doctor_client, branch):
    plan = new_plan(doctor, branch)
    second = plans.stage_add(plan=plan, by=doctor.user)
    third = plans.stage_add(plan=plan, by=doctor.user)
    url = reverse("clinical:plan-stage-rename", args=[second.pk])
    assert doctor_client.post(url, {"name": "Хирургия"}).status_code == 200
    assert doctor_client.post(url, {"name": "   "}).status_code == 422
    move = reverse("clinical:plan-stage-move", args=[third.pk])
    assert doctor_client.post(move, {"direction": "up"}).status_code == 200
    assert doctor_client.post(move, {"direction": "sideways"}).status_code == 422
    names = [s.stage.name for s in plan_selectors.plan_view(plan).stages]
    assert names == ["Stage 1", "Stage 3", "Хирургия"]
    first = plan.stages.get(position=1)
    plans.stage_move(stage=first, up=True, by=doctor.user)  # already first: nothing moves
    assert next(s.stage.name for s in plan_selectors.plan_view(plan).stages) == "Stage 1"
    assert AuditEntry.objects.filter(changes__name=["Stage 2", "Хирургия"]).exists()
    add(plan, doctor, filling(), teeth=[36])
    plans.plan_set_status(plan=plan, status=PlanStatus.APPROVED, by=doctor.user)
    with pytest.raises(ValidationError):
        plans.stage_rename(stage=first, name="Поздно", by=doctor.user)


# --- Suggest ----------------------------------------------------------------------------------


def test_templates_are_ranked_by_coverage_then_by_their_own_share(doctor):
    ticked = {dx("K02.1").pk, dx("K04.0").pk}
    template("A caries only", ["K02.1"])
    template("B caries and pulpitis", ["K02.1", "K04.0"])
    template("C wide", ["K02.1", "K04.0", "K05.3", "K08.1"])
    template("D unrelated", ["K07.2"])
    template("E inactive", ["K02.1", "K04.0"], deleted_at=timezone.now())
    ranked = plan_selectors.suggest(ticked)
    assert [(s.name, s.percent, s.own_share) for s in ranked] == [
        ("B caries and pulpitis", 100, Decimal("100.0")),
        ("C wide", 100, Decimal("50.0")),
        ("A caries only", 50, Decimal("100.0")),
    ]
    assert ranked[0].covered_codes == ["K02.1", "K04.0"]
    assert plan_selectors.suggest(set()) == []


def test_suggest_reads_fifty_templates_in_three_queries(django_assert_num_queries):
    service = ServiceFactory()
    gone = ServiceFactory(deleted_at=timezone.now())
    codes = list(Diagnosis.objects.order_by("code").values_list("code", flat=True)[:60])
    for number in range(50):
        template(f"T{number:02d}", codes[number : number + 4], [service, gone])
    ticked = set(Diagnosis.objects.filter(code__in=codes[10:14]).values_list("pk", flat=True))
    with django_assert_num_queries(3):
        ranked = plan_selectors.suggest(ticked)
    assert ranked[0].name == "T10" and ranked[0].percent == 100
    assert len(ranked) == 7
    assert all(s.broken_services == [str(gone)] for s in ranked)


def test_filling_from_a_template_puts_a_per_tooth_service_on_each_covered_tooth(doctor, branch):
    patient = PatientFactory()
    chart(patient, "K02.1", 36, 46)
    chart(patient, "K04.0", 11)
    plan = new_plan(doctor, branch, patient)
    visit = ServiceFactory(per_tooth=False, price=Decimal("2000.00"))
    gone = ServiceFactory(name="Старая услуга", deleted_at=timezone.now())
    made = template("Кариес", ["K02.1", "K03.0"], [visit, filling(), gone])
    found = plan_selectors.current_diagnoses(patient.pk)
    filled = plans.plan_fill_from_template(
        plan=plan,
        template=made,
        teeth_by_diagnosis={entry.diagnosis.pk: entry.teeth for entry in found},
        by=doctor.user,
    )
    assert [(line.tooth, line.diagnosis and line.diagnosis.code) for line in filled.lines] == [
        (None, "K02.1"),
        (36, "K02.1"),
        (46, "K02.1"),
    ]
    assert len(filled.skipped) == 1 and "Старая услуга" in filled.skipped[0]
    assert plan_selectors.plan_view(plan).total == Decimal("17000.00")


# --- Views ------------------------------------------------------------------------------------


def section(client, patient, **params):
    return client.get(reverse("clinical:plans", args=[patient.pk]), params)


def test_the_tab_creates_a_plan_and_adds_lines(doctor_client, doctor):
    patient = PatientFactory()
    assert "No treatment plans yet" in section(doctor_client, patient).content.decode()
    response = doctor_client.post(
        reverse("clinical:plan-new", args=[patient.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and response["HX-Trigger"] == "planChanged"
    plan = TreatmentPlan.objects.get(patient=patient)
    assert plan.doctor == doctor.employee
    service = filling()
    response = doctor_client.post(
        reverse("clinical:plan-lines-add", args=[plan.pk]),
        {"service": service.pk, "teeth": ["36", "37"], "quantity": "1", "dentition": "permanent"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("data-plan-line=") == 2 and "15\xa0000,00" in html


def test_the_service_picker_shows_the_price_a_line_gets_in_the_plans_branch(
    doctor_client, doctor, branch
):
    from pricelist.tests.factories import BranchListFactory, priced

    service = filling()
    today = timezone.localdate()
    priced(service, "7500.00", on=today)
    priced(service, "6800.00", on=today, price_list=BranchListFactory(branch=branch))
    plan = new_plan(doctor, branch)
    html = section(doctor_client, plan.patient).content.decode()
    assert f'<option value="{service.pk}">A16.07.002.010 Пломба · 6\xa0800,00' in html
    line = add(plan, doctor, service, teeth=[36])[0]
    assert line.price == Decimal("6800.00")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"teeth": ["19"]}, "no tooth 19"),
        ({"teeth": ["1x"]}, "no tooth 1x"),
        ({"teeth": []}, "priced per tooth"),
        ({"quantity": "0"}, "at least 1"),
        ({"quantity": "-3"}, "at least 1"),
        ({"quantity": "two"}, "whole number"),
        ({"service": "99999999"}, "not in the price list"),
        ({"service": "99999999999999999999999"}, "not in the price list"),
    ],
)
def test_the_tab_refuses_bad_lines_with_a_message(doctor_client, doctor, branch, data, message):
    plan = new_plan(doctor, branch)
    body = {"service": filling().pk, "teeth": ["36"], "quantity": "1", **data}
    response = doctor_client.post(reverse("clinical:plan-lines-add", args=[plan.pk]), body)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not PlanLine.objects.exists()


def test_an_approved_plan_is_not_edited_and_an_empty_one_not_approved(
    doctor_client, doctor, branch
):
    plan = new_plan(doctor, branch)
    status_url = reverse("clinical:plan-status", args=[plan.pk])
    response = doctor_client.post(status_url, {"action": "approve"})
    assert (
        response.status_code == 422 and "empty plan cannot be approved" in response.content.decode()
    )
    add(plan, doctor, filling(), teeth=[36])
    assert doctor_client.post(status_url, {"action": "approve"}).status_code == 200
    response = doctor_client.post(
        reverse("clinical:plan-lines-add", args=[plan.pk]),
        {"service": filling(code="X-9").pk, "teeth": ["11"], "quantity": "1"},
    )
    assert response.status_code == 422
    assert "only a draft plan can be edited" in response.content.decode()
    assert doctor_client.post(status_url, {"action": "explode"}).status_code == 400
    assert PlanLine.objects.count() == 1


def test_another_branchs_plan_is_not_found_and_rights_are_checked(
    client, doctor_client, doctor, doctor_elsewhere, branch_elsewhere, registrar
):
    elsewhere = new_plan(doctor_elsewhere, branch_elsewhere)
    (line,) = add(elsewhere, doctor_elsewhere, filling(), teeth=[36])
    for url in (
        reverse("clinical:plan", args=[elsewhere.pk]),
        reverse("clinical:plan-print", args=[elsewhere.pk]),
        f"{reverse('clinical:plans', args=[elsewhere.patient_id])}?plan={elsewhere.pk}",
    ):
        assert doctor_client.get(url).status_code == 404
    assert (
        doctor_client.post(reverse("clinical:plan-line-remove", args=[line.pk])).status_code == 404
    )
    assert "data-plan-row" not in section(doctor_client, elsewhere.patient).content.decode()
    client.force_login(registrar.user)
    assert section(client, elsewhere.patient).status_code == 403
    assert client.post(reverse("clinical:plan-new", args=[elsewhere.patient_id])).status_code == 403
    assert (
        doctor_client.get(reverse("clinical:plan-new", args=[elsewhere.patient_id])).status_code
        == 405
    )
    assert PlanLine.objects.count() == 1


def test_suggest_and_fill_from_the_tab(doctor_client, doctor, branch):
    patient = PatientFactory()
    (caries,) = chart(patient, "K02.1", 36)
    plan = new_plan(doctor, branch, patient)
    made = template("Кариес: пломба", ["K02.1"], [filling()])
    html = section(doctor_client, patient).content.decode()
    assert f'value="{caries.pk}"' in html and "data-plan-suggest" in html
    response = doctor_client.get(
        reverse("clinical:plan-suggest", args=[plan.pk]), {"records": [caries.pk]}
    )
    assert "data-suggestion-percent>100%" in response.content.decode()
    other = ToothRecord.objects.create(patient=PatientFactory(), tooth=11, diagnosis=dx("K02.1"))
    refused = doctor_client.get(
        reverse("clinical:plan-suggest", args=[plan.pk]), {"records": [other.pk]}
    )
    assert refused.status_code == 422 and "not on the patient" in refused.content.decode()
    # From the page (htmx) only the ranking comes back: the tab, its pickers and lines stay.
    ranked = doctor_client.get(
        reverse("clinical:plan-suggest", args=[plan.pk]),
        {"records": [caries.pk]},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "data-plan-suggestions" in ranked and "data-treatment-plans" not in ranked
    refused = doctor_client.get(
        reverse("clinical:plan-suggest", args=[plan.pk]),
        {"records": [other.pk]},
        HTTP_HX_REQUEST="true",
    )
    assert refused.status_code == 422 and "data-suggest-error" in refused.content.decode()
    response = doctor_client.post(
        reverse("clinical:plan-apply", args=[plan.pk]),
        {"records": [caries.pk], "template": made.pk},
    )
    assert response.status_code == 200
    assert list(plan.lines.values_list("tooth", "diagnosis__code")) == [(36, "K02.1")]


def test_the_plan_page_reads_a_fixed_number_of_queries(doctor_client, doctor, branch):
    patient = PatientFactory()
    chart(patient, "K02.1", 36)
    plan = new_plan(doctor, branch, patient)
    add(plan, doctor, filling(), teeth=[36])
    url = reverse("clinical:plan", args=[plan.pk])
    doctor_client.get(url)
    with CaptureQueriesContext(connection) as few:
        doctor_client.get(url)
    for number in range(4):
        plans.stage_add(plan=plan, by=doctor.user)
        add(plan, doctor, filling(code=f"F-{number}"), teeth=[11, 12, 13], diagnosis=dx("K02.1"))
        new_plan(doctor, branch, patient)
    chart(patient, "K04.0", 21, 22, 23)
    with CaptureQueriesContext(connection) as many:
        html = doctor_client.get(url).content.decode()
    assert html.count("data-plan-line=") == 13 and html.count("data-plan-row=") == 5
    assert len(many) == len(few)


def test_the_print_holds_the_patient_the_total_and_a_signature_line(doctor_client, doctor, branch):
    patient = PatientFactory(last_name="Планова")
    plan = new_plan(doctor, branch, patient)
    add(plan, doctor, filling(), teeth=[36, 46])
    response = doctor_client.get(reverse("clinical:plan-print", args=[plan.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Планова" in text and "15 000,00" in text.replace("\xa0", " ")
    assert "signature" in text and doctor.employee.last_name in text


def test_the_card_loads_the_plan_tab(doctor_client):
    patient = PatientFactory()
    html = doctor_client.get(reverse("patients:section", args=[patient.pk, "plan"])).content
    assert reverse("clinical:plans", args=[patient.pk]) in html.decode()
    assert "treatment_plan.css" in html.decode()


def test_a_plan_line_takes_its_branchs_list_price(doctor, branch):
    from pricelist.models import Price, PriceList, PriceListKind

    plan = new_plan(doctor, branch)
    service = filling()
    branch_list = PriceList.objects.create(kind=PriceListKind.BRANCH, branch=branch, name="Ф")
    Price.objects.create(
        price_list=branch_list,
        service=service,
        amount="8100.00",
        effective_from=timezone.localdate(),
    )
    (line,) = add(plan, doctor, service, teeth=[36])
    assert line.price == Decimal("8100.00")


def test_suggest_shows_the_best_ten_and_the_rest_on_request(doctor_client, doctor, branch):
    patient = PatientFactory()
    (caries,) = chart(patient, "K02.1", 36)
    plan = new_plan(doctor, branch, patient)
    service = filling()
    best = template("A: caries alone", ["K02.1"], [service])
    for number in range(11):
        template(f"B{number:02d}: caries and more", ["K02.1", "K04.0"], [service])
    url = reverse("clinical:plan-suggest", args=[plan.pk])

    def shown(**params) -> str:
        response = doctor_client.get(
            url, {"records": [caries.pk], **params}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 200
        return response.content.decode()

    first = shown()
    assert first.count("data-suggestion=") == 10
    assert f'data-suggestion="{best.pk}"' in first  # the best first: all its diagnoses ticked
    assert "data-suggestions-more" in first and "2 more" in first
    everything = shown(all="1")
    assert everything.count("data-suggestion=") == 12
    assert "data-suggestions-more" not in everything
    page = doctor_client.get(url, {"records": [caries.pk]}).content.decode()
    assert page.count("data-suggestion=") == 10 and "data-suggestions-more" in page
