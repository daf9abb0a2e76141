import datetime
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calendar_app.tests.factories import AppointmentFactory
from clinic.models import AuditEntry, OutboxEvent
from clinic.tests.factories import ChairFactory
from clinical import perio, services
from clinical.models import PerioExam, ToothRecord
from documents.tests.pdf import pdf_text
from patients import timeline
from patients.models import PatientEvent
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def tooth(pd=(3, 2, 3, 3, 2, 3), gm=(0,) * 6, bop=(), **extra) -> dict:
    return {
        "pd": list(pd),
        "gm": list(gm),
        "bop": [i in bop for i in range(6)],
        "sup": [False] * 6,
        "plaque": [False] * 6,
        "mobility": None,
        "furcation": None,
        **extra,
    }


def make(patient, doctor, day=datetime.date(2026, 3, 2), measurements=None, missing=()):
    return perio.perio_exam_create(
        patient=patient,
        data={
            "doctor": doctor.employee,
            "appointment": None,
            "examined_on": day,
            "note": "",
            "measurements": measurements if measurements is not None else {"16": tooth()},
            "missing": list(missing),
        },
        by=doctor.user,
    )


def header(persona, **extra) -> dict:
    return {"examined_on": "2026-03-02", "doctor": persona.employee.pk, "note": "", **extra}


# --- Rules ------------------------------------------------------------------------------


def test_cal_is_depth_plus_margin_with_recession_positive():
    assert perio.cal(4, 2) == 6  # 2 mm of recession
    assert perio.cal(5, -2) == 3  # margin 2 mm above the junction (swelling)
    assert perio.cal(3, None) == 3
    assert perio.cal(None, 2) is None


def test_the_walk_goes_the_usual_snake_and_skips_missing_teeth():
    order = perio.walk()
    assert len(order) == 32 * 6
    # Upper buccal from 18 (distal first on the patient's right) to 28 (distal last).
    assert order[:3] == [(18, 0), (18, 1), (18, 2)]
    assert order[8 * 3 - 3 : 8 * 3 + 3] == [(11, 0), (11, 1), (11, 2), (21, 2), (21, 1), (21, 0)]
    # Then palatal back from 28 to 18, lower lingual 38 to 48, lower buccal 48 to 38.
    assert order[48] == (28, 3) and order[95] == (18, 3)
    assert order[96] == (38, 3) and order[143] == (48, 3)
    assert order[144] == (48, 0) and order[-1] == (38, 0)
    skipping = perio.walk({18, 36})
    assert len(skipping) == 30 * 6
    assert all(t not in (18, 36) for t, _ in skipping)


def test_an_exam_is_audited_published_and_on_the_timeline(
    doctor, django_capture_on_commit_callbacks
):
    patient = PatientFactory()
    with django_capture_on_commit_callbacks(execute=True):
        exam = make(patient, doctor, missing=[18])
    assert exam.measurements["16"]["pd"] == [3, 2, 3, 3, 2, 3]
    assert exam.missing == [18]
    assert AuditEntry.objects.filter(patient_id=patient.pk, action="create").exists()
    event = OutboxEvent.objects.get(name="perio_exam.created")
    assert event.payload["patient_id"] == patient.pk
    entry = PatientEvent.objects.get(patient=patient, name="perio_exam.created")
    assert timeline.render(entry)[1] == "Periodontal exam of 02.03.2026 added"
    with django_capture_on_commit_callbacks(execute=True):
        perio.perio_exam_update(
            exam=exam,
            data={
                "doctor": doctor.employee,
                "appointment": None,
                "examined_on": exam.examined_on,
                "note": "Повторно",
                "measurements": {"16": tooth(pd=(5, 2, 3, 3, 2, 3))},
                "missing": [18],
            },
            by=doctor.user,
        )
    exam.refresh_from_db()
    assert exam.measurements["16"]["pd"][0] == 5 and exam.note == "Повторно"
    assert OutboxEvent.objects.filter(name="perio_exam.updated").count() == 1
    assert AuditEntry.objects.filter(patient_id=patient.pk, action="update").exists()
    entry = PatientEvent.objects.get(patient=patient, name="perio_exam.updated")
    assert timeline.render(entry)[1] == "Periodontal exam of 02.03.2026 changed"


@pytest.mark.parametrize(
    ("measurements", "missing", "message"),
    [
        ({"19": tooth()}, [], "no tooth 19"),
        ({"55": tooth()}, [], "not in the permanent dentition"),
        ({"16": tooth(pd=(16, 2, 3, 3, 2, 3))}, [], "probing depth 16 is out of range"),
        ({"16": tooth(pd=(-1, 2, 3, 3, 2, 3))}, [], "out of range"),
        ({"16": tooth(gm=(-11, 0, 0, 0, 0, 0))}, [], "gingival margin -11 is out of range"),
        ({"16": tooth(mobility=4)}, [], "mobility 4 is out of range"),
        ({"16": tooth(furcation=9)}, [], "furcation 9 is out of range"),
        ({"16": tooth(pd=("x", 2, 3, 3, 2, 3))}, [], "whole number"),
        ({"16": tooth()}, [99], "no tooth 99"),
    ],
)
def test_bad_measurements_are_refused_by_the_service(doctor, measurements, missing, message):
    with pytest.raises(ValidationError, match=message):
        make(PatientFactory(), doctor, measurements=measurements, missing=missing)
    assert not PerioExam.objects.exists()


def test_a_visit_of_another_patient_is_refused_by_the_service(doctor, branch):
    other = AppointmentFactory(
        patient=PatientFactory(),
        doctor=doctor.employee,
        chair=ChairFactory(branch=branch),
        start=timezone.now().replace(microsecond=0),
    )
    with pytest.raises(ValidationError, match="another patient"):
        perio.perio_exam_create(
            patient=PatientFactory(),
            data={
                "doctor": doctor.employee,
                "appointment": other,
                "examined_on": datetime.date(2026, 3, 2),
                "measurements": {},
                "missing": [],
            },
            by=doctor.user,
        )


def test_comparing_marks_sites_worse_by_two_mm_and_new_bleeding(doctor):
    patient = PatientFactory()
    older = make(patient, doctor, datetime.date(2026, 1, 1), {"16": tooth(), "36": tooth()})
    newer = make(
        patient,
        doctor,
        datetime.date(2026, 6, 1),
        {
            # DB 3→5 (deeper by 2), B 2→3 (1 mm: not worse), MB: CAL 3→5 by recession.
            "16": tooth(pd=(5, 3, 3, 3, 2, 3), gm=(0, 0, 2, 0, 0, 0), bop=(4,)),
            "36": tooth(),
        },
    )
    rows = perio.compare(older, newer)
    worse = [(n, s.index) for n, row in rows.items() for s in row.sites if s.worse]
    assert worse == [(16, 0), (16, 2)]
    bleeding = [(n, s.index) for n, row in rows.items() for s in row.sites if s.new_bleeding]
    assert bleeding == [(16, 4)]


# --- Views ------------------------------------------------------------------------------


GRID_NAME = re.compile(r"^(pd|gm|bop|sup|plaque|mob|fur)-|^missing$")


def grid_post(persona, **fields) -> dict:
    """The form as the page posts it: the header's fields, and the grid's as one JSON field."""
    grid = {name: value for name, value in fields.items() if GRID_NAME.match(name)}
    rest = {name: value for name, value in fields.items() if name not in grid}
    return {**header(persona), **rest, "grid": json.dumps(grid)}


def test_the_grid_creates_an_exam(doctor_client, doctor):
    patient = PatientFactory()
    url = reverse("clinical:perio-new", args=[patient.pk])
    response = doctor_client.post(
        url,
        grid_post(
            doctor,
            **{"pd-16-0": "4", "pd-16-1": "12", "gm-16-0": "-2", "gm-16-1": "", "mob-16": "1"},
            **{"bop-16": ["0", "2"], "fur-16": "2", "missing": ["18"]},
        ),
    )
    assert response.status_code == 302
    exam = PerioExam.objects.get(patient=patient)
    assert response["Location"] == reverse("clinical:perio-exam", args=[exam.pk])
    row = exam.measurements["16"]
    assert row["pd"] == [4, 12, None, None, None, None]
    assert row["gm"][0] == -2 and row["bop"] == [True, False, True, False, False, False]
    assert row["mobility"] == 1 and row["furcation"] == 2
    assert exam.missing == [18]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"pd-19-0": "3"}, "no tooth 19"),
        ({"pd-54-0": "3"}, "not in the permanent dentition"),
        ({"pd-16-0": "16"}, "probing depth 16 is out of range (0 to 15)"),
        ({"pd-16-0": "-1"}, "out of range"),
        ({"gm-16-0": "-11"}, "gingival margin -11 is out of range (-10 to 15)"),
        ({"gm-16-0": "16"}, "out of range"),
        ({"mob-16": "4"}, "mobility 4 is out of range (0 to 3)"),
        ({"fur-16": "-1"}, "furcation -1 is out of range"),
        ({"pd-16-0": "abc"}, "whole number of millimetres"),
        ({"pd-16-0": "3.5"}, "whole number"),
        ({"pd-16-0": "99999999999999999999"}, "whole number"),
        ({"pd-16-0": "٣"}, "whole number"),
        ({"pd-16-9": "3"}, "Unknown field"),
        ({"pd-16": "3"}, "Unknown field"),
        ({"bop-16": "7"}, "unknown site"),
        ({"missing": "99"}, "no tooth 99"),
        ({"missing": "x"}, "no tooth x"),
    ],
)
def test_the_grid_refuses_bad_input_with_a_message(doctor_client, doctor, fields, message):
    patient = PatientFactory()
    response = doctor_client.post(
        reverse("clinical:perio-new", args=[patient.pk]), grid_post(doctor, **fields)
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not PerioExam.objects.exists()


def test_a_refused_grid_shows_what_was_typed(doctor_client, doctor):
    patient = PatientFactory()
    response = doctor_client.post(
        reverse("clinical:perio-new", args=[patient.pk]),
        grid_post(doctor, **{"pd-16-0": "44", "pd-16-1": "3"}),
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert 'data-name="pd-16-0" value="44"' in html and 'data-name="pd-16-1" value="3"' in html


def test_nul_bytes_and_huge_ids_are_refused(doctor_client, doctor):
    patient = PatientFactory()
    url = reverse("clinical:perio-new", args=[patient.pk])
    assert doctor_client.post(url, grid_post(doctor, **{"pd-16-0": "1\x00"})).status_code == 400
    assert doctor_client.get("/clinical/perio/99999999999999999999999/").status_code == 404
    compare = reverse("clinical:perio-compare", args=[patient.pk])
    assert doctor_client.get(compare, {"a": "x", "b": "1"}).status_code == 400
    assert doctor_client.get(compare, {"a": "99999999999999999999", "b": "1"}).status_code == 400
    assert not PerioExam.objects.exists()


def test_a_visit_of_another_patient_or_branch_is_refused_by_the_form(
    doctor_client, doctor, doctor_elsewhere, branch, branch_elsewhere
):
    patient = PatientFactory()
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(days=1)
    others = [
        AppointmentFactory(
            patient=PatientFactory(),
            doctor=doctor.employee,
            chair=ChairFactory(branch=branch),
            start=start,
        ),
        AppointmentFactory(
            patient=patient,
            doctor=doctor_elsewhere.employee,
            chair=ChairFactory(branch=branch_elsewhere),
            start=start,
        ),
    ]
    url = reverse("clinical:perio-new", args=[patient.pk])
    for other in others:
        response = doctor_client.post(url, grid_post(doctor, appointment=other.pk))
        assert response.status_code == 422
        assert "not one of the patient" in response.content.decode()
    own = AppointmentFactory(
        patient=patient,
        doctor=doctor.employee,
        chair=ChairFactory(branch=branch),
        start=start + datetime.timedelta(days=2),
    )
    assert doctor_client.post(url, grid_post(doctor, appointment=own.pk)).status_code == 302
    assert PerioExam.objects.get().appointment == own


def test_a_new_exam_starts_with_the_charts_missing_teeth(doctor_client, doctor):
    patient = PatientFactory()
    services.chart_records_add(patient=patient, teeth_numbers=[36], state="missing", by=None)
    html = doctor_client.get(reverse("clinical:perio-new", args=[patient.pk])).content.decode()
    assert 'value="36" tabindex="-1" data-perio-missing checked' in html
    # The missing tooth's inputs are disabled: the entry's walk skips them.
    assert re.search(r'data-name="pd-36-0"[^>]*disabled>', html)
    assert not re.search(r'data-name="pd-37-0"[^>]*disabled>', html)


def test_editing_rewrites_the_exam(doctor_client, doctor):
    exam = make(PatientFactory(), doctor)
    url = reverse("clinical:perio-edit", args=[exam.pk])
    page = doctor_client.get(url).content.decode()
    assert 'data-name="pd-16-0" value="3"' in page
    assert doctor_client.post(url, grid_post(doctor, **{"pd-16-0": "7"})).status_code == 302
    exam.refresh_from_db()
    assert exam.measurements == {"16": tooth(pd=(7, None, None, None, None, None), gm=(None,) * 6)}


def test_the_tab_lists_exams_newest_first_in_fixed_queries(doctor_client, doctor):
    patient = PatientFactory()
    make(patient, doctor, datetime.date(2026, 1, 5))
    url = reverse("clinical:perio", args=[patient.pk])
    doctor_client.get(url)
    with CaptureQueriesContext(connection) as one:
        doctor_client.get(url)
    for day in range(2, 8):
        make(patient, doctor, datetime.date(2026, 2, day))
    doctor_client.get(url)
    with CaptureQueriesContext(connection) as many:
        html = doctor_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert len(many) == len(one)
    assert html.count("data-perio-exam=") == 7
    assert html.index("07.02.2026") < html.index("05.01.2026")


def test_an_exam_and_its_comparison_read_in_fixed_queries(doctor_client, doctor):
    patient = PatientFactory()
    small = make(patient, doctor, datetime.date(2026, 1, 1), {"16": tooth()})
    exam_url = reverse("clinical:perio-exam", args=[small.pk])
    doctor_client.get(exam_url)
    with CaptureQueriesContext(connection) as one:
        doctor_client.get(exam_url)
    full = {str(n): tooth(bop=(1,)) for n in perio.TEETH}
    big = make(patient, doctor, datetime.date(2026, 6, 1), full, missing=[])
    with CaptureQueriesContext(connection) as many:
        html = doctor_client.get(reverse("clinical:perio-exam", args=[big.pk])).content.decode()
    assert len(many) == len(one)
    assert html.count("perio-dot perio-bop") == 32
    compare_url = reverse("clinical:perio-compare", args=[patient.pk])
    doctor_client.get(compare_url)
    with CaptureQueriesContext(connection) as compared:
        doctor_client.get(compare_url)
    assert len(compared) <= len(one) + 1


def test_the_comparison_highlights_worse_sites(doctor_client, doctor):
    patient = PatientFactory()
    older = make(patient, doctor, datetime.date(2026, 1, 1), {"16": tooth()})
    make(patient, doctor, datetime.date(2026, 3, 1), {"16": tooth(pd=(6, 2, 3, 3, 2, 3))})
    newest = make(patient, doctor, datetime.date(2026, 6, 1), {"16": tooth(bop=(1,))})
    url = reverse("clinical:perio-compare", args=[patient.pk])
    last_two = doctor_client.get(url).content.decode()
    # The last two: 6 → 3 got better; site B bleeds anew.
    assert "data-perio-worse=" not in last_two
    assert 'data-perio-new-bleeding="16-1"' in last_two
    chosen = doctor_client.get(url, {"a": newest.pk, "b": older.pk}).content.decode()
    assert "data-perio-worse=" not in chosen
    middle = PerioExam.objects.get(examined_on=datetime.date(2026, 3, 1))
    worse = doctor_client.get(url, {"a": older.pk, "b": middle.pk}).content.decode()
    assert 'data-perio-worse="16-0"' in worse
    other = make(PatientFactory(), doctor)
    assert doctor_client.get(url, {"a": older.pk, "b": other.pk}).status_code == 400
    alone = PatientFactory()
    make(alone, doctor)
    page = doctor_client.get(reverse("clinical:perio-compare", args=[alone.pk]))
    assert page.status_code == 200 and "Two exams are needed" in page.content.decode()


def test_the_pdf_holds_the_patient_and_the_measurements(doctor_client, doctor):
    exam = make(
        PatientFactory(last_name="Пародонтова"),
        doctor,
        measurements={"16": tooth(pd=(7, 2, 3, 3, 2, 3))},
    )
    response = doctor_client.get(reverse("clinical:perio-print", args=[exam.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Пародонтова" in text and "Periodontal chart" in text and "16" in text


def test_rights(client, registrar, doctor):
    patient = PatientFactory()
    exam = make(patient, doctor)
    client.force_login(registrar.user)
    for name, arg in (("perio", patient.pk), ("perio-exam", exam.pk), ("perio-print", exam.pk)):
        assert client.get(reverse(f"clinical:{name}", args=[arg])).status_code == 403
    client.force_login(doctor.user)
    assert client.get(reverse("clinical:perio", args=[patient.pk])).status_code == 200


def test_wrong_methods(doctor_client, doctor):
    exam = make(PatientFactory(), doctor)
    assert doctor_client.post(reverse("clinical:perio-exam", args=[exam.pk])).status_code == 405
    assert doctor_client.post(reverse("clinical:perio-print", args=[exam.pk])).status_code == 405
    assert doctor_client.delete(reverse("clinical:perio-edit", args=[exam.pk])).status_code == 405


def test_the_card_has_the_tab(doctor_client, doctor):
    patient = PatientFactory()
    html = doctor_client.get(
        reverse("patients:section", kwargs={"pk": patient.pk, "section": "perio"})
    ).content.decode()
    assert 'data-section="perio"' in html
    assert reverse("clinical:perio", args=[patient.pk]) in html


def test_the_demo_seeds_exams_that_pass_the_checks(doctor):
    from clinical.demo import seed_perio

    PatientFactory.create_batch(10)
    ToothRecord.objects.all().delete()
    seed_perio(lambda message: None, share=0.3)
    exams = list(PerioExam.objects.all())
    assert len(exams) == 6
    for exam in exams:
        checked = perio.validate_measurements(exam.measurements, exam.missing)
        assert checked == (exam.measurements, exam.missing)


def test_a_reader_without_the_change_right_reads_but_does_not_edit(client, registrar, doctor):
    from django.contrib.auth.models import Permission

    exam = make(PatientFactory(), doctor)
    registrar.user.user_permissions.add(Permission.objects.get(codename="clinical_view"))
    client.force_login(registrar.user)
    tab = client.get(reverse("clinical:perio", args=[exam.patient_id]))
    assert tab.status_code == 200 and "data-perio-new" not in tab.content.decode()
    assert client.get(reverse("clinical:perio-exam", args=[exam.pk])).status_code == 200
    assert client.get(reverse("clinical:perio-edit", args=[exam.pk])).status_code == 403
    new = reverse("clinical:perio-new", args=[exam.patient_id])
    assert client.post(new, grid_post(doctor)).status_code == 403
    assert PerioExam.objects.count() == 1


@pytest.mark.parametrize(
    "grid", ["not json", "[1, 2]", '{"pd-16-0": 3}', '{"pd-16-0": ["1","1","1","1","1","1","1"]}']
)
def test_a_grid_that_is_not_the_pages_json_is_refused_with_a_message(doctor_client, doctor, grid):
    patient = PatientFactory()
    response = doctor_client.post(
        reverse("clinical:perio-new", args=[patient.pk]), {**header(doctor), "grid": grid}
    )
    assert response.status_code == 422
    assert "could not be read" in response.content.decode()
    assert not PerioExam.objects.exists()


def test_a_full_mouth_with_every_flag_fits_one_post(doctor_client, doctor):
    """More inputs than Django lets a form post (1,000): the grid travels as one field."""
    patient = PatientFactory()
    fields: dict = {}
    for tooth in sorted(perio.TEETH):
        for site in range(6):
            fields[f"pd-{tooth}-{site}"] = "3"
            fields[f"gm-{tooth}-{site}"] = "1"
        for flag in ("bop", "sup", "plaque"):
            fields[f"{flag}-{tooth}"] = [str(site) for site in range(6)]
        fields[f"mob-{tooth}"] = "1"
        fields[f"fur-{tooth}"] = "1"
    response = doctor_client.post(
        reverse("clinical:perio-new", args=[patient.pk]), grid_post(doctor, **fields)
    )
    assert response.status_code == 302
    exam = PerioExam.objects.get(patient=patient)
    assert all(row["bop"] == [True] * 6 for row in exam.measurements.values())


def test_an_exam_goes_to_the_recycle_bin_and_comes_back(
    doctor_client, doctor, registrar, django_capture_on_commit_callbacks
):
    from django.test import Client

    from clinic import trash
    from clinic.services import object_restore

    patient = PatientFactory()
    exam = make(patient, doctor)
    url = reverse("clinical:perio-delete", args=[exam.pk])
    assert doctor_client.get(url).status_code == 405
    front_desk = Client()
    front_desk.force_login(registrar.user)
    assert front_desk.post(url).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = doctor_client.post(url)
    assert response.status_code == 302
    assert not PerioExam.objects.filter(pk=exam.pk).exists()
    assert doctor_client.get(reverse("clinical:perio-exam", args=[exam.pk])).status_code == 404
    listed = doctor_client.get(reverse("clinical:perio", args=[patient.pk])).content.decode()
    assert reverse("clinical:perio-exam", args=[exam.pk]) not in listed
    deleted = PerioExam.all_objects.get(pk=exam.pk)
    assert deleted in trash.get_section("perio-exams").deleted_for(doctor.user)
    texts = [timeline.render(e)[1] for e in PatientEvent.objects.filter(patient=patient)]
    assert "Periodontal exam moved to the recycle bin" in texts
    object_restore(obj=deleted, by=doctor.user)
    assert doctor_client.get(reverse("clinical:perio-exam", args=[exam.pk])).status_code == 200
