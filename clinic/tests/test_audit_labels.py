"""The audit log page names every change it holds, whatever the changed field is."""

import pytest
from django.urls import reverse
from django.utils import translation

from clinic.models import AuditEntry
from patients.models import Patient
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_the_audit_log_shows_a_portal_activation(admin_client, admin_persona):
    from patients import services

    patient = PatientFactory(phone="+79123456789")
    services.portal_activate(patient=patient, by=admin_persona.user, login="+79123456789")
    response = admin_client.get(reverse("clinic:audit"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    rows = [
        (row.label, row.old, row.new)
        for _, shown in response.context["entries"]
        for row in shown.rows
    ]
    assert ("patient portal account", "inactive", "active: +79123456789") in rows


@translation.override("en")
def test_a_field_label_is_the_models_wording_or_the_name():
    from clinic.audit_display import field_label

    assert field_label(Patient, "last_name") == "last name"
    assert field_label(Patient, "portal_account") == "patient portal account"
    assert field_label(Patient, "appointments") == "appointment"
    assert field_label(Patient, "chair_order") == "chair_order"
    assert field_label(None, "anything") == "anything"
    assert AuditEntry.objects.count() == 0
