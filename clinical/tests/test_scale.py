"""The clinical record's scale data (size XS, inside the test's transaction): charts and
signed medical records for completed visits, and the ten-year patient the bench opens."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from calendar_app.models import Appointment, StatusCode
from clinic.models import User
from clinic.tests.test_scale import seed
from clinical.models import MedicalRecord, ToothRecord

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
