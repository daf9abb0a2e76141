import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calendar_app.tests.factories import AppointmentFactory
from clinic.models import AuditEntry, OutboxEvent
from clinic.tests.factories import ChairFactory
from clinical import records
from clinical.models import Diagnosis, MedicalHistoryTemplate, MedicalRecord, Recommendation
from documents.tests.pdf import pdf_text
from patients import timeline
from patients.models import PatientEvent
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def caries() -> Diagnosis:
    return Diagnosis.objects.get(code="K02.1")


def data(doctor, **extra) -> dict:
    return {
        "doctor": doctor.employee,
        "appointment": None,
        "recorded_on": datetime.date(2026, 3, 2),
        "teeth": [36],
        "complaints": "Боль от холодного",
        "anamnesis": "",
        "objective": "",
        "local_status": "",
        "treatment": "Пломба",
        "recommendations": "Не есть 2 часа\nЧистить зубы",
        **extra,
    }


def make(patient, doctor, **extra) -> MedicalRecord:
    return records.record_create(
        patient=patient, data=data(doctor, **extra), diagnoses=[caries()], by=doctor.user
    )


def visit(patient, doctor, branch, day=1):
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(days=day)
    return AppointmentFactory(
        patient=patient, doctor=doctor.employee, chair=ChairFactory(branch=branch), start=start
    )


def form(persona, **extra) -> dict:
    return {
        "recorded_on": "2026-03-02",
        "doctor": persona.employee.pk,
        "teeth": "36, 46",
        "complaints": "Боль",
        "diagnoses": [caries().pk],
        "treatment": "Пломба",
        "recommendations": "Не есть 2 часа",
        **extra,
    }


def test_a_record_is_audited_published_and_its_recommendations_are_rows(doctor):
    patient = PatientFactory()
    record = make(patient, doctor)
    assert record.teeth == "36"
    assert list(record.diagnoses.values_list("code", flat=True)) == ["K02.1"]
    assert list(
        Recommendation.objects.filter(doctor=doctor.employee).values_list("text", flat=True)
    ) == [
        "Не есть 2 часа",
        "Чистить зубы",
    ]
    assert AuditEntry.objects.filter(patient_id=patient.pk, action="create").exists()
    event = OutboxEvent.objects.get(name="medical_record.created")
    assert event.payload["patient_id"] == patient.pk and event.payload["diagnoses"] == ["K02.1"]


@pytest.mark.parametrize(
    ("kwargs", "diagnoses", "message"),
    [
        ({"teeth": [19]}, None, "no tooth 19"),
        ({}, [], "at least one diagnosis"),
    ],
)
def test_bad_records_are_refused(doctor, kwargs, diagnoses, message):
    with pytest.raises(ValidationError, match=message):
        records.record_create(
            patient=PatientFactory(),
            data=data(doctor, **kwargs),
            diagnoses=[caries()] if diagnoses is None else diagnoses,
            by=doctor.user,
        )
    assert not MedicalRecord.objects.exists()


def test_a_visit_of_another_patient_is_refused_by_the_service(doctor, branch):
    other = visit(PatientFactory(), doctor, branch)
    with pytest.raises(ValidationError, match="another patient"):
        make(PatientFactory(), doctor, appointment=other)


def test_signing_locks_and_a_correction_keeps_the_signed_version(
    doctor, django_capture_on_commit_callbacks
):
    patient = PatientFactory()
    with django_capture_on_commit_callbacks(execute=True):
        record = records.record_sign(record=make(patient, doctor), by=doctor.user)
    with pytest.raises(ValidationError, match="signed and cannot be edited"):
        records.record_update(
            record=record, data=data(doctor), diagnoses=[caries()], by=doctor.user
        )
    with pytest.raises(ValidationError, match="why"):
        records.record_correct(
            record=record, data=data(doctor), diagnoses=[caries()], reason=" ", by=doctor.user
        )
    with django_capture_on_commit_callbacks(execute=True):
        new = records.record_correct(
            record=record,
            data=data(doctor, treatment="Пломба, полировка"),
            diagnoses=[caries()],
            reason="Уточнено лечение",
            by=doctor.user,
        )
    old = MedicalRecord.objects.get(pk=record.pk)
    assert (old.treatment, old.superseded_at is not None, old.signed_at) == (
        "Пломба",
        True,
        record.signed_at,
    )
    assert (new.version, new.previous_id, new.signed_at) == (2, record.pk, None)
    assert list(MedicalRecord.objects.current().filter(patient=patient)) == [new]
    assert OutboxEvent.objects.filter(name="medical_record.corrected").count() == 1
    with pytest.raises(ValidationError, match="latest signed version"):
        records.record_correct(
            record=old, data=data(doctor), diagnoses=[caries()], reason="Ещё", by=doctor.user
        )
    names = set(PatientEvent.objects.filter(patient=patient).values_list("name", flat=True))
    assert {"medical_record.created", "medical_record.signed", "medical_record.corrected"} <= names
    corrected = PatientEvent.objects.get(patient=patient, name="medical_record.corrected")
    assert timeline.render(corrected)[1] == (
        "Medical record corrected (version 2): Уточнено лечение"
    )


def test_only_the_records_doctor_signs(doctor, manager):
    record = make(PatientFactory(), doctor)
    with pytest.raises(PermissionDenied):
        records.record_sign(record=record, by=manager.user)


def test_the_form_creates_a_record(doctor_client, doctor):
    patient = PatientFactory()
    response = doctor_client.post(reverse("clinical:history-new", args=[patient.pk]), form(doctor))
    assert response.status_code == 302
    assert MedicalRecord.objects.get(patient=patient).teeth == "36,46"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"diagnoses": ["999999"]}, "not in the ICD-10 list"),
        ({"diagnoses": []}, "at least one diagnosis"),
        ({"teeth": "19"}, "no tooth 19"),
        ({"teeth": "1x1"}, "no tooth"),
        ({"doctor": "99999999999999999999999"}, "Select a valid choice"),
    ],
)
def test_the_form_refuses_bad_input(doctor_client, doctor, extra, message):
    patient = PatientFactory()
    response = doctor_client.post(
        reverse("clinical:history-new", args=[patient.pk]), form(doctor, **extra)
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not MedicalRecord.objects.exists()


def test_a_visit_of_another_patient_or_branch_is_refused_by_the_form(
    doctor_client, doctor, doctor_elsewhere, branch, branch_elsewhere
):
    patient = PatientFactory()
    others = [
        visit(PatientFactory(), doctor, branch),
        visit(patient, doctor_elsewhere, branch_elsewhere),
    ]
    url = reverse("clinical:history-new", args=[patient.pk])
    for other in others:
        response = doctor_client.post(url, form(doctor, appointment=other.pk))
        assert response.status_code == 422
        assert "not one of the patient" in response.content.decode()
    own = visit(patient, doctor, branch, day=3)
    assert doctor_client.post(url, form(doctor, appointment=own.pk)).status_code == 302


def test_editing_a_signed_record_is_refused_with_a_message(doctor_client, doctor):
    record = records.record_sign(record=make(PatientFactory(), doctor), by=doctor.user)
    response = doctor_client.post(reverse("clinical:history-edit", args=[record.pk]), form(doctor))
    assert response.status_code == 409
    assert "signed and cannot be edited" in response.content.decode()


def test_nul_bytes_are_refused(doctor_client, doctor):
    patient = PatientFactory()
    url = reverse("clinical:history-new", args=[patient.pk])
    assert doctor_client.post(url, form(doctor, diagnoses=["1\x00"])).status_code == 400
    assert not MedicalRecord.objects.exists()


def test_huge_and_nul_ids_are_refused(doctor_client):
    assert doctor_client.get("/clinical/history/99999999999999999999999/edit/").status_code == 404
    patient = PatientFactory()
    url = reverse("clinical:history", args=[patient.pk])
    assert doctor_client.get(url, {"doctor": "1\x00"}).status_code < 500
    assert doctor_client.get(url, {"since": "0001-01-01"}).status_code == 400


def test_the_list_filters_and_its_queries_do_not_grow(doctor_client, doctor):
    patient = PatientFactory()
    make(patient, doctor, recorded_on=datetime.date(2026, 1, 5))
    url = reverse("clinical:history", args=[patient.pk])
    doctor_client.get(url)
    with CaptureQueriesContext(connection) as one:
        doctor_client.get(url)
    for day in range(2, 8):
        make(patient, doctor, recorded_on=datetime.date(2026, 2, day))
    doctor_client.get(url)
    with CaptureQueriesContext(connection) as many:
        html = doctor_client.get(url).content.decode()
    assert len(many) == len(one)
    assert html.count("data-medical-record=") == 7
    filtered = doctor_client.get(url, {"since": "2026-02-01", "until": "2026-02-03"}).content
    assert filtered.decode().count("data-medical-record=") == 2


def test_the_pdf_holds_the_patient_and_the_diagnosis(doctor_client, doctor):
    patient = PatientFactory(last_name="Печатнова")
    record = make(patient, doctor)
    response = doctor_client.get(reverse("clinical:history-print", args=[record.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Печатнова" in text and "K02.1" in text


def test_rights(client, registrar, doctor):
    patient = PatientFactory()
    record = make(patient, doctor)
    client.force_login(registrar.user)
    assert client.get(reverse("clinical:history", args=[patient.pk])).status_code == 403
    assert client.get(reverse("clinical:history-print", args=[record.pk])).status_code == 403
    assert client.post(reverse("clinical:history-sign", args=[record.pk])).status_code == 403


def test_the_form_offers_the_templates(doctor_client, doctor):
    profession = doctor.employee.professions.first()
    if profession is None:
        from clinic.tests.factories import ProfessionFactory

        profession = ProfessionFactory(kind="doctor")
    MedicalHistoryTemplate.objects.create(
        name="Кариес", profession=profession, complaints="Жалобы на боль"
    )
    html = doctor_client.get(reverse("clinical:history-new", args=[PatientFactory().pk])).content
    assert "Кариес" in html.decode() and "medical_history.js" in html.decode()


def test_the_templates_are_a_reference_book_and_the_card_loads_the_history(
    admin_client, doctor_client
):
    url = reverse("clinic:reference-book", args=["medical-history-templates"])
    assert admin_client.get(url).status_code == 200
    patient = PatientFactory()
    html = doctor_client.get(reverse("patients:section", args=[patient.pk, "history"])).content
    assert reverse("clinical:history", args=[patient.pk]) in html.decode()
