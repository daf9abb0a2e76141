import datetime
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.models import AuditEntry, OutboxEvent
from clinical import selectors, services
from clinical.icd10 import load_icd10
from clinical.models import Diagnosis, DiagnosisCategory, ToothRecord, ToothState
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

DAY_1 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
DAY_2 = datetime.datetime(2026, 3, 20, 9, 0, tzinfo=datetime.UTC)


def caries() -> Diagnosis:
    return Diagnosis.objects.get(code="K02.1")


def test_the_icd10_list_is_loaded_with_categories_and_loading_again_adds_nothing():
    assert DiagnosisCategory.objects.get(code="K02").name == "Кариес зубов"
    assert caries().name == "Кариес дентина"
    assert caries().category.code == "K02"
    assert Diagnosis.objects.count() > 400
    assert load_icd10(DiagnosisCategory, Diagnosis) == (0, 0)


def test_a_deactivated_diagnosis_stays_deactivated_when_the_list_is_loaded_again():
    diagnosis = caries()
    Diagnosis._base_manager.filter(pk=diagnosis.pk).update(deleted_at=DAY_1)
    assert load_icd10(DiagnosisCategory, Diagnosis) == (0, 0)
    assert not Diagnosis.objects.filter(code="K02.1").exists()


def test_adding_records_audits_and_publishes_for_the_timeline(doctor):
    patient = PatientFactory()
    records = services.chart_records_add(
        patient=patient,
        teeth_numbers=[36, 46],
        diagnosis=caries(),
        state=ToothState.CARIES,
        surfaces=["O"],
        dentition="permanent",
        by=doctor.user,
    )
    assert [(r.tooth, r.surfaces) for r in records] == [(36, "O"), (46, "O")]
    assert AuditEntry.objects.filter(patient_id=patient.pk, action="create").count() == 2
    event = OutboxEvent.objects.get(name="chart.diagnosis_added")
    assert event.payload["patient_id"] == patient.pk
    assert event.payload["teeth"] == [36, 46]
    assert event.payload["diagnosis"] == "K02.1"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"teeth_numbers": [19]}, "no tooth 19"),
        ({"teeth_numbers": [51], "dentition": "permanent"}, "not in the permanent"),
        ({"teeth_numbers": [11], "surfaces": ["O"]}, "no occlusal surface"),
        ({"teeth_numbers": [11], "diagnosis": None, "state": ""}, "diagnosis or a state"),
        ({"teeth_numbers": [11], "state": "broken"}, "Unknown state"),
    ],
)
def test_bad_records_are_refused_and_nothing_is_written(doctor, kwargs, message):
    patient = PatientFactory()
    arguments = {"diagnosis": caries(), "state": ToothState.CARIES, **kwargs}
    with pytest.raises(ValidationError, match=message):
        services.chart_records_add(patient=patient, by=doctor.user, **arguments)
    assert not ToothRecord.objects.exists()
    assert not OutboxEvent.objects.filter(name__startswith="chart.").exists()


def test_a_code_not_in_the_list_is_refused_by_the_form(doctor_client):
    patient = PatientFactory()
    response = doctor_client.post(
        reverse("clinical:chart-add", args=[patient.pk]),
        {"teeth": ["11"], "dentition": "permanent", "diagnosis": "999999", "state": ""},
    )
    assert response.status_code == 422
    assert "not in the ICD-10 list" in response.content.decode()
    assert not ToothRecord.objects.exists()


def test_removing_keeps_history_and_the_past_chart_is_as_it_stood(doctor):
    patient = PatientFactory()
    with time_machine.travel(DAY_1, tick=False):
        (record,) = services.chart_records_add(
            patient=patient, teeth_numbers=[36], diagnosis=caries(), state="caries", by=doctor.user
        )
    with time_machine.travel(DAY_2, tick=False):
        services.chart_record_remove(record=record, by=doctor.user)
        services.chart_records_add(
            patient=patient, teeth_numbers=[36], state=ToothState.FILLING, by=doctor.user
        )
        with pytest.raises(ValidationError, match="already been removed"):
            services.chart_record_remove(record=record, by=doctor.user)

    assert ToothRecord.objects.filter(patient=patient).count() == 2
    now = selectors.teeth_on_chart(selectors.chart_records(patient.pk))
    assert now[36].state == ToothState.FILLING
    assert [r.diagnosis_id for r in now[36].records] == [None]
    between = selectors.chart_records(patient.pk, moment=DAY_1 + datetime.timedelta(days=5))
    assert [(r.tooth, r.state, r.diagnosis.code) for r in between] == [(36, "caries", "K02.1")]
    before = selectors.chart_records(patient.pk, moment=DAY_1 - datetime.timedelta(days=1))
    assert before == []
    assert OutboxEvent.objects.get(name="chart.diagnosis_removed").payload["patient_id"] == (
        patient.pk
    )


def test_the_tab_shows_the_chart_and_the_past_date(doctor_client, doctor):
    patient = PatientFactory()
    with time_machine.travel(DAY_1, tick=False):
        services.chart_records_add(
            patient=patient, teeth_numbers=[21], diagnosis=caries(), state="caries", by=doctor.user
        )
    url = reverse("clinical:chart", args=[patient.pk])
    html = doctor_client.get(url).content.decode()
    assert 'data-tooth="21" data-jaw="upper" data-state="caries"' in html
    assert "K02.1" in html and "data-record-remove" in html
    past = doctor_client.get(url, {"on": "2026-03-01"}).content.decode()
    assert "data-chart-past" in past and "K02.1" not in past
    assert "data-record-remove" not in past
    primary = doctor_client.get(url, {"dentition": "primary"}).content.decode()
    assert 'data-tooth="55"' in primary and 'data-tooth="18"' not in primary


def test_the_card_section_loads_the_chart_for_those_with_the_right(client, doctor, registrar):
    patient = PatientFactory()
    section = reverse("patients:section", args=[patient.pk, "diagnostics"])
    chart = reverse("clinical:chart", args=[patient.pk])
    client.force_login(doctor.user)
    html = client.get(section).content.decode()
    assert chart in html and "js/dental_chart.js" in html
    client.force_login(registrar.user)
    denied = client.get(section)
    assert denied.status_code == 200
    assert chart not in denied.content.decode()
    assert "data-section-denied" in denied.content.decode()
    assert client.get(chart).status_code == 403


def test_adding_and_removing_through_the_views(doctor_client):
    patient = PatientFactory()
    response = doctor_client.post(
        reverse("clinical:chart-add", args=[patient.pk]),
        {
            "teeth": ["16", "26"],
            "dentition": "permanent",
            "diagnosis": str(caries().pk),
            "state": "caries",
            "surfaces": ["M", "O"],
        },
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "chartChanged"
    assert sorted(ToothRecord.objects.values_list("tooth", "surfaces")) == [(16, "MO"), (26, "MO")]
    record = ToothRecord.objects.get(tooth=16)
    response = doctor_client.post(reverse("clinical:record-remove", args=[record.pk]))
    assert response.status_code == 200
    record.refresh_from_db()
    assert record.removed_at is not None
    again = doctor_client.post(reverse("clinical:record-remove", args=[record.pk]))
    assert again.status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        {"on": "0001-01-01"},
        {"on": "9999-12-31"},
        {"on": "not a date"},
        {"dentition": "adult"},
        {"on": "2026-01-01\x00"},
    ],
)
def test_hostile_queries_are_refused_with_400(doctor_client, query):
    patient = PatientFactory()
    response = doctor_client.get(reverse("clinical:chart", args=[patient.pk]), query)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "data",
    [
        {"teeth": ["99999999999999999999999"], "dentition": "permanent", "state": "caries"},
        {"teeth": ["1\x001"], "dentition": "permanent", "state": "caries"},
        {"teeth": ["11"], "dentition": "permanent", "diagnosis": "9" * 30, "state": ""},
        {"teeth": ["11"], "dentition": "permanent", "state": "caries", "surfaces": ["Z"]},
        {"teeth": ["51"], "dentition": "permanent", "state": "caries"},
    ],
)
def test_hostile_posts_are_refused_and_write_nothing(doctor_client, data):
    patient = PatientFactory()
    response = doctor_client.post(reverse("clinical:chart-add", args=[patient.pk]), data)
    assert 400 <= response.status_code < 500
    assert not ToothRecord.objects.exists()


def test_huge_ids_in_the_path_answer_404(doctor_client):
    huge = 2**70
    assert doctor_client.get(f"/clinical/patients/{huge}/chart/").status_code == 404
    assert doctor_client.post(f"/clinical/chart/records/{huge}/remove/").status_code == 404


def test_the_tab_reads_a_fixed_number_of_queries_whatever_the_history(doctor_client, doctor):
    patient = PatientFactory()
    url = reverse("clinical:chart", args=[patient.pk])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert doctor_client.get(url).status_code == 200
        return len(queries)

    services.chart_records_add(
        patient=patient, teeth_numbers=[11], diagnosis=caries(), state="caries", by=doctor.user
    )
    count()  # the session, the user's rights and cached settings are read once
    few = count()
    for code in ("K02.0", "K04.0", "K02.2"):
        records = services.chart_records_add(
            patient=patient,
            teeth_numbers=[12, 24, 36, 47],
            diagnosis=Diagnosis.objects.get(code=code),
            state="caries",
            by=doctor.user,
        )
        services.chart_record_remove(record=records[0], by=doctor.user)
    assert count() == few


def test_the_diagnoses_are_a_reference_book_searched_by_code_in_fixed_queries(admin_client):
    url = reverse("clinic:reference-book", args=["diagnoses"])
    admin_client.get(url)
    with CaptureQueriesContext(connection) as queries:
        html = admin_client.get(url, {"q": "K02.1"}).content.decode()
    assert "Кариес дентина" in html and "Кариес эмали" not in html
    with CaptureQueriesContext(connection) as more:
        admin_client.get(url)
    assert len(more) <= len(queries) + 1
    assert (
        "K00"
        in admin_client.get(
            reverse("clinic:reference-book", args=["diagnosis-categories"])
        ).content.decode()
    )


def test_a_deactivated_diagnosis_leaves_the_picker_and_keeps_its_records(doctor, doctor_client):
    patient = PatientFactory()
    diagnosis = caries()
    services.chart_records_add(
        patient=patient, teeth_numbers=[36], diagnosis=diagnosis, state="", by=doctor.user
    )
    Diagnosis.objects.filter(pk=diagnosis.pk).update(deleted_at=DAY_2)
    html = doctor_client.get(reverse("clinical:chart", args=[patient.pk])).content.decode()
    assert "K02.1" in html  # on the chart, as recorded
    assert f'<option value="{diagnosis.pk}"' not in html


def test_a_refused_selection_stays_selected(doctor_client):
    patient = PatientFactory()
    response = doctor_client.post(
        reverse("clinical:chart-add", args=[patient.pk]),
        {"teeth": ["11", "12"], "dentition": "permanent", "state": "caries", "surfaces": ["O"]},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Tooth 11 has no occlusal surface" in html
    assert 'value="11" data-jaw="upper" checked' in html
    assert 'value="13" data-jaw="upper">' in html
    assert re.search(r'name="surfaces" value="O"[^>]*checked>', html)
    assert re.search(r'name="surfaces" value="M"[^>]*id="id_surfaces_\d"><label', html)


def test_the_picker_follows_the_reference_book_while_its_options_are_cached(doctor_client):
    url = reverse("clinical:chart", args=[PatientFactory().pk])
    diagnosis = caries()
    option = f'<option value="{diagnosis.pk}">K02.1 '
    assert option + "Кариес дентина</option>" in doctor_client.get(url).content.decode()
    diagnosis.name = "Кариес дентина <средней глубины>"
    diagnosis.save()
    html = doctor_client.get(url).content.decode()
    assert option + "Кариес дентина &lt;средней глубины&gt;</option>" in html
    refused = doctor_client.post(
        url.replace("/chart/", "/chart/records/"),
        {"teeth": ["99"], "dentition": "permanent", "diagnosis": diagnosis.pk},
    )
    assert refused.status_code == 422
    assert f'<option value="{diagnosis.pk}" selected>K02.1 ' in refused.content.decode()
    assert '<option value="">---------</option>' in refused.content.decode()
    diagnosis.deleted_at = DAY_2
    diagnosis.save()
    assert option not in doctor_client.get(url).content.decode()


def test_chart_changes_land_on_the_patient_timeline_as_sentences(
    doctor, django_capture_on_commit_callbacks
):
    from django.utils import translation

    from patients import timeline
    from patients.models import PatientEvent

    patient = PatientFactory()
    with django_capture_on_commit_callbacks(execute=True):
        (record, _other) = services.chart_records_add(
            patient=patient, teeth_numbers=[36, 46], diagnosis=caries(), by=doctor.user
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.chart_record_remove(record=record, by=doctor.user)
    entries = PatientEvent.objects.filter(patient=patient).order_by("occurred_at", "pk")
    with translation.override("en"):
        texts = [timeline.render(entry)[1] for entry in entries]
    assert texts == [
        "Chart: K02.1 Кариес дентина on 36, 46",
        "Chart: K02.1 removed from 36",
    ]


def test_the_chart_needs_the_right_to_open_the_card_too(client, doctor):
    from django.contrib.auth.models import Permission

    patient = PatientFactory()
    user = doctor.user
    user.groups.clear()
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["clinical_view", "clinical_change"])
    )
    client.force_login(user)
    assert client.get(reverse("clinical:chart", args=[patient.pk])).status_code == 403


def test_the_picker_reads_the_diagnoses_once_until_one_changes(doctor_client):
    url = reverse("clinical:chart", args=[PatientFactory().pk])

    def diagnosis_reads() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert doctor_client.get(url).status_code == 200
        return sum('FROM "clinical_diagnosis"' in q["sql"] for q in queries.captured_queries)

    diagnosis_reads()
    assert diagnosis_reads() == 0
    diagnosis = caries()
    diagnosis.name = "Кариес дентина (изменён)"
    diagnosis.save()
    assert diagnosis_reads() == 1
    assert diagnosis_reads() == 0
