"""The audit log reads like the clinic talks: names for ids, labels for codes, the model's
wording for fields, one time format in the branch's zone, and the stored entries unchanged."""

import datetime
import zoneinfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from calendar_app import services as calendar
from calendar_app.models import Appointment, StatusCode
from clinic import audit
from clinic.audit import check_chain
from clinic.audit_display import EMPTY, describe_entries
from clinic.models import AuditEntry, Branch, Employee, ProfessionKind
from clinic.tests.factories import BranchFactory, ChairFactory, EmployeeFactory
from patients import services as patients
from patients.models import DocumentType, Patient
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = reverse("clinic:audit")
MOSCOW = zoneinfo.ZoneInfo("Europe/Moscow")
YEKATERINBURG = zoneinfo.ZoneInfo("Asia/Yekaterinburg")  # UTC+5


def rows_of(shown) -> dict[str, tuple[str, str]]:
    return {row.label: (row.old, row.new) for row in shown.rows}


def page(client, **params):
    response = client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return {entry.pk: shown for entry, shown in response.context["entries"]}


def doctor_in(branch: Branch, last_name: str) -> Employee:
    return EmployeeFactory(last_name=last_name, kind=ProfessionKind.DOCTOR, branches=[branch])


def visit_at(branch: Branch, start: datetime.datetime, by) -> Appointment:
    return calendar.appointment_book(
        by=by,
        patient=PatientFactory(last_name="Морозов", first_name="Антон", middle_name="Викторович"),
        doctor=doctor_in(branch, "Зубова"),
        chair=ChairFactory(branch=branch),
        start=start,
        end=start + datetime.timedelta(hours=1),
        allow_outside_shift=True,
    )


@translation.override("en")
def test_a_patient_edit_names_the_doctors_and_the_document_type_and_hides_search_columns(
    admin_client, admin_persona, branch
):
    before, after = doctor_in(branch, "Иванова"), doctor_in(branch, "Сидоров")
    patient = PatientFactory(attending_doctor=before, branch=branch)
    patients.patient_update(
        patient=patient,
        by=admin_persona.user,
        data={
            "attending_doctor": after,
            "document_type": DocumentType.OTHER,
            "last_name": "Новикова",
        },
    )
    entry = AuditEntry.objects.filter(action="update", patient_id=patient.pk).get()
    shown = page(admin_client, patient_id=patient.pk)[entry.pk]
    rows = rows_of(shown)
    assert rows["attending doctor"] == (str(before), str(after))
    assert rows["identity document"] == (
        str(DocumentType.PASSPORT.label),
        str(DocumentType.OTHER.label),
    )
    assert "last name" in rows
    assert not {"search name", "search_name", "search phones", "search_phones"} & set(rows)
    assert shown.title == str(Patient.objects.get(pk=patient.pk))
    assert shown.patient == ""  # the object is the patient: not named twice


@translation.override("en")
def test_a_status_change_shows_labels_and_the_visit_at_its_local_time(
    admin_client, admin_persona, branch
):
    visit = visit_at(branch, datetime.datetime(2026, 11, 26, 18, tzinfo=MOSCOW), admin_persona.user)
    calendar.appointment_set_status(
        appointment=visit, by=admin_persona.user, status=StatusCode.CONFIRMED
    )
    entry = AuditEntry.objects.filter(action="update", object_id=str(visit.pk)).get()
    assert "15:00" in entry.object_repr  # stored as the database returned it, in UTC
    shown = page(admin_client)[entry.pk]
    assert rows_of(shown)["status"] == (
        str(StatusCode.PLANNED.label),
        str(StatusCode.CONFIRMED.label),
    )
    assert shown.title.endswith("26.11.2026 18:00")
    assert shown.patient == str(visit.patient)


@pytest.mark.parametrize(
    ("zone", "old_local", "new_local"),
    [
        (MOSCOW, "26.11.2026 09:45", "26.11.2026 18:00"),
        (YEKATERINBURG, "26.11.2026 11:45", "26.11.2026 20:00"),
    ],
)
@translation.override("en")
def test_a_move_names_the_chairs_and_shows_times_in_the_branchs_zone(
    admin_client, admin_persona, zone, old_local, new_local
):
    branch = BranchFactory(time_zone=zone.key)
    start = datetime.datetime(2026, 11, 26, 6, 45, tzinfo=datetime.UTC)
    visit = visit_at(branch, start, admin_persona.user)
    old_chair, new_chair = visit.chair, ChairFactory(branch=branch, name="Кресло у окна")
    new_start = datetime.datetime(2026, 11, 26, 15, tzinfo=datetime.UTC).astimezone(zone)
    calendar.appointment_move(
        appointment=visit,
        by=admin_persona.user,
        start=new_start,
        end=new_start + datetime.timedelta(hours=1),
        chair=new_chair,
        allow_outside_shift=True,
    )
    entry = AuditEntry.objects.filter(action="update", object_id=str(visit.pk)).get()
    shown = page(admin_client)[entry.pk]
    rows = rows_of(shown)
    assert rows["chair"] == (old_chair.name, "Кресло у окна")
    assert rows["start"] == (old_local, new_local)
    assert shown.title.endswith(new_local)
    html = admin_client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "+00:00" not in html and "+03:00" not in html and "+05:00" not in html


@translation.override("en")
def test_an_object_gone_from_the_database_shows_as_its_id_marked_deleted(admin_persona, branch):
    entry = audit.record(
        actor=admin_persona.user,
        action="update",
        obj=PatientFactory(branch=branch),
        changes={"attending_doctor": [None, 9_999_999], "gender": [None, 10**30]},
    )
    [shown] = describe_entries([entry])
    assert rows_of(shown)["attending doctor"] == (EMPTY, "#9999999 (deleted)")
    assert rows_of(shown)["gender"][1] == f"#{10**30} (deleted)"


def test_viewing_the_log_leaves_the_stored_entries_exactly_as_they_were(
    admin_client, admin_persona, branch
):
    visit = visit_at(branch, datetime.datetime(2026, 11, 26, 18, tzinfo=MOSCOW), admin_persona.user)
    calendar.appointment_set_status(
        appointment=visit, by=admin_persona.user, status=StatusCode.CONFIRMED
    )

    def stored():
        return list(AuditEntry.objects.order_by("id").values_list("changes", "object_repr", "hash"))

    before = stored()
    page(admin_client)
    page(admin_client, patient_id=visit.patient_id)
    assert stored() == before
    assert check_chain().intact


def test_the_page_reads_a_bounded_number_of_queries_for_50_entries_of_mixed_kinds(
    admin_client, admin_persona, django_assert_max_num_queries
):
    moscow, ural = BranchFactory(), BranchFactory(time_zone=YEKATERINBURG.key)

    def add_entries(count: int) -> None:
        for i in range(count):
            branch = moscow if i % 2 else ural
            kind = i % 3
            if kind == 0:
                start = datetime.datetime(2026, 11, 2, 9, tzinfo=branch.zone)
                visit = visit_at(branch, start + datetime.timedelta(days=i), admin_persona.user)
                calendar.appointment_set_status(
                    appointment=visit, by=admin_persona.user, status=StatusCode.CONFIRMED
                )
            elif kind == 1:
                patient = PatientFactory(branch=branch)
                patients.patient_update(
                    patient=patient,
                    by=admin_persona.user,
                    data={"attending_doctor": doctor_in(branch, f"Врач{i}")},
                )
            else:
                audit.record(
                    actor=admin_persona.user,
                    action="update",
                    obj=ChairFactory(branch=branch),
                    changes={"branch": [moscow.pk, branch.pk], "name": ["a", "b"]},
                )

    add_entries(6)
    admin_client.get(URL)  # warm the caches the shell fills once
    with CaptureQueriesContext(connection) as few:
        page(admin_client)
    add_entries(36)
    assert AuditEntry.objects.count() >= 50
    kinds = ContentType.objects.filter(pk__in=AuditEntry.objects.values("content_type")).count()
    assert kinds >= 3
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(page(admin_client)) == 50
