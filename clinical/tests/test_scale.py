"""The clinical record's scale data (size XS, inside the test's transaction): charts and
signed medical records for completed visits, and the ten-year patient the bench opens."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from calendar_app.models import Appointment, StatusCode
from clinic.models import User
from clinic.tests.test_scale import seed
from clinical import plans
from clinical.models import (
    MedicalRecord,
    PerioExam,
    PlanLine,
    PlanStatus,
    ToothRecord,
    TreatmentPlan,
)

pytestmark = pytest.mark.django_db


def test_charts_and_records_belong_to_completed_visits_and_one_patient_has_ten_years(
    client, django_assert_max_num_queries
):
    seed()
    records = MedicalRecord.objects.exclude(appointment=None)
    assert records.exists()
    assert not records.exclude(appointment__status=StatusCode.COMPLETED).exists()
    assert not records.filter(signed_at=None).exists()
    assert all(record.diagnoses.exists() or record.teeth for record in records[:20])
    visit = records.first().appointment
    assert records.first().patient_id == visit.patient_id
    assert ToothRecord.objects.filter(removed_at__isnull=False).exists()  # treated since
    # A later finding on a tooth supersedes the earlier one: one current record a tooth.
    current = ToothRecord.objects.current().values("patient_id", "tooth")
    assert current.count() == current.distinct().count()

    oldest = ToothRecord.objects.order_by("recorded_at").first()
    years = (timezone.now() - oldest.recorded_at) / datetime.timedelta(days=365)
    assert years > 9.5
    patient_id = oldest.patient_id
    assert ToothRecord.objects.filter(patient_id=patient_id).count() >= 60
    assert Appointment.objects.exists()

    client.force_login(User.objects.get(username="admin"))
    with django_assert_max_num_queries(20):
        response = client.get(reverse("clinical:chart", args=[patient_id]))
    assert response.status_code == 200


def test_plans_and_perio_exams_are_generated_and_numbering_goes_on():
    seed()
    plans_made = TreatmentPlan.objects.all()
    assert plans_made.exists() and PlanLine.objects.exists() and PerioExam.objects.exists()
    assert not PlanLine.objects.filter(diagnosis__isnull=True).exists()
    assert set(plans_made.values_list("status", flat=True)) <= set(PlanStatus.values)
    old = plans_made.order_by("pk").first()
    made = plans.plan_create(
        patient=old.patient, branch=old.branch, doctor=None, by=User.objects.get(username="admin")
    )
    assert made.number == plans_made.filter(patient=old.patient).count()
    exam = PerioExam.objects.order_by("pk").first()
    assert exam.measurements and all(len(row["pd"]) == 6 for row in exam.measurements.values())


def test_a_reset_seeds_the_diagnoses_again():
    """Emptying the users cascades to the ICD-10 reference books; the generator loads them."""
    seed()
    seed(reset=True)
    assert MedicalRecord.diagnoses.through.objects.exists()
    assert TreatmentPlan.objects.exists()
