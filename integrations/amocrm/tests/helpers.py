"""Making patients and visits the way the front desk does, and reading their twins."""

import datetime

from calendar_app import services as calendar
from calendar_app.models import Appointment
from integrations.amocrm.config import SYSTEM
from integrations.links import link_for
from patients import services as patients
from patients.models import Patient


def new_patient(user, **data) -> Patient:
    values = {
        "last_name": "Смирнова",
        "first_name": "Ольга",
        "middle_name": "Петровна",
        "phone": "+79161234567",
        "birth_date": datetime.date(1990, 3, 14),
        **data,
    }
    return patients.patient_create(by=user, data=values, confirm_duplicate=True)


def book(desk, patient, *, days: int = 3, hour: int = 10, services=()) -> Appointment:
    start = datetime.datetime.combine(
        datetime.date.today() + datetime.timedelta(days=days),
        datetime.time(hour),
        tzinfo=desk["branch"].zone,
    )
    return calendar.appointment_book(
        by=desk["user"],
        patient=patient,
        doctor=desk["doctor"],
        chair=desk["chair"],
        start=start,
        end=start + datetime.timedelta(minutes=45),
        services=services,
        allow_outside_shift=True,
    )


def contact_of(amo, patient) -> dict:
    link = link_for(system=SYSTEM, obj=patient)
    assert link is not None, "the patient is not linked"
    return amo.fake.contacts[int(link.external_id)]


def lead_of(amo, visit) -> dict:
    link = link_for(system=SYSTEM, obj=visit)
    assert link is not None, "the visit is not linked"
    return amo.fake.leads[int(link.external_id)]
