"""An approved plan's lines booked into a visit (issue 10, story 10): the visit gets them as
service lines with their teeth, quantities and the plan's prices; completing the visit marks
them done, cancelling it frees them."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from calendar_app import services as calendar
from calendar_app.models import AppointmentService, StatusCode
from calendar_app.tests.factories import AppointmentFactory, ServiceFactory
from clinic.tests.factories import ChairFactory
from clinical import plan_booking, plans
from clinical.models import PlanLine, PlanLineStatus, PlanStatus
from patients.tests.factories import PatientFactory

from .test_plans import add, filling, new_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(doctor, branch):
    """An approved plan: a filling on 36 and on 46, and two hygiene sessions."""
    plan = new_plan(doctor, branch)
    add(plan, doctor, filling(), teeth=[36, 46])
    add(plan, doctor, ServiceFactory(name="Гигиена", price=Decimal("3000.00")), quantity=2)
    return plans.plan_set_status(plan=plan, status=PlanStatus.APPROVED, by=doctor.user)


HOURS = iter(range(1, 1000))


def visit_of(plan, doctor, branch, *, days=1, status=StatusCode.PLANNED, patient=None):
    """A visit of the plan's patient (or ``patient``), each at an hour of its own."""
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(days=days, hours=next(HOURS))
    return AppointmentFactory(
        patient=patient or plan.patient,
        doctor=doctor.employee,
        chair=ChairFactory(branch=branch),
        start=start,
        status=status,
    )


def lines(plan):
    return list(PlanLine.objects.filter(plan=plan).order_by("pk"))


def test_booked_lines_become_the_visits_services_at_the_plans_prices(approved, doctor, branch):
    visit = visit_of(approved, doctor, branch)
    PlanLine.objects.filter(plan=approved).update(price=Decimal("7000.00"))  # a negotiated price
    plan_lines = lines(approved)
    booked = plan_booking.lines_book(
        plan=approved, line_ids=[line.pk for line in plan_lines], appointment=visit, by=doctor.user
    )
    assert booked == 3
    got = sorted(
        AppointmentService.objects.filter(appointment=visit).values_list(
            "service__name", "tooth", "quantity", "price"
        ),
        key=lambda row: (row[0], row[1] or 0),
    )
    assert got == [
        ("Гигиена", None, 2, Decimal("7000.00")),
        ("Пломба", 36, 1, Decimal("7000.00")),
        ("Пломба", 46, 1, Decimal("7000.00")),
    ]
    assert {line.appointment_id for line in lines(approved)} == {visit.pk}
    with pytest.raises(ValidationError, match="already booked"):
        plan_booking.lines_book(
            plan=approved, line_ids=[plan_lines[0].pk], appointment=visit, by=doctor.user
        )


def test_only_an_approved_plans_lines_go_into_an_open_visit_of_the_same_patient(
    approved, doctor, branch
):
    draft = new_plan(doctor, branch, patient=approved.patient)
    add(draft, doctor, filling(code="X-2"), teeth=[16])
    visit = visit_of(approved, doctor, branch)
    with pytest.raises(ValidationError, match="approved"):
        plan_booking.lines_book(
            plan=draft, line_ids=[lines(draft)[0].pk], appointment=visit, by=doctor.user
        )
    other = visit_of(approved, doctor, branch, patient=PatientFactory())
    done = visit_of(approved, doctor, branch, days=-1, status=StatusCode.COMPLETED)
    for wrong, message in ((other, "another patient"), (done, "still ahead")):
        with pytest.raises(ValidationError, match=message):
            plan_booking.lines_book(
                plan=approved, line_ids=[lines(approved)[0].pk], appointment=wrong, by=doctor.user
            )
    with pytest.raises(ValidationError, match="Choose lines"):
        plan_booking.lines_book(
            plan=approved, line_ids=[lines(draft)[0].pk], appointment=visit, by=doctor.user
        )
    assert not AppointmentService.objects.filter(appointment=visit).exists()


def test_completing_the_visit_marks_the_lines_it_still_carries_done(
    approved, doctor, branch, django_capture_on_commit_callbacks
):
    visit = visit_of(approved, doctor, branch, days=0)
    plan_lines = lines(approved)
    plan_booking.lines_book(
        plan=approved, line_ids=[line.pk for line in plan_lines], appointment=visit, by=doctor.user
    )
    # The doctor did not get to tooth 46 today: taken off the visit.
    AppointmentService.objects.filter(appointment=visit, tooth=46).delete()
    with django_capture_on_commit_callbacks(execute=True):
        calendar.appointment_set_status(
            appointment=visit, by=doctor.user, status=StatusCode.COMPLETED
        )
    after = {(line.tooth, line.status, line.appointment_id) for line in lines(approved)}
    assert after == {
        (36, PlanLineStatus.DONE, visit.pk),
        (46, PlanLineStatus.PLANNED, None),  # free to book into the next visit
        (None, PlanLineStatus.DONE, visit.pk),
    }
    assert all(line.done_at for line in lines(approved) if line.status == PlanLineStatus.DONE)


def test_cancelling_the_visit_frees_its_lines(
    approved, doctor, branch, django_capture_on_commit_callbacks
):
    visit = visit_of(approved, doctor, branch)
    plan_booking.lines_book(
        plan=approved,
        line_ids=[line.pk for line in lines(approved)],
        appointment=visit,
        by=doctor.user,
    )
    with django_capture_on_commit_callbacks(execute=True):
        calendar.appointment_cancel(appointment=visit, by=doctor.user, reason="Заболел")
    assert {(line.status, line.appointment_id) for line in lines(approved)} == {
        (PlanLineStatus.PLANNED, None)
    }


def test_the_plan_tab_books_ticked_lines_into_a_chosen_visit(
    approved, doctor, branch, doctor_client, registrar
):
    visit = visit_of(approved, doctor, branch)
    url = reverse("clinical:plan-book", args=[approved.pk])
    page = doctor_client.get(
        reverse("clinical:plan", args=[approved.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "data-plan-book-form" in page
    assert page.count("data-line-book") == 3
    first = lines(approved)[0]
    front_desk = Client()
    front_desk.force_login(registrar.user)
    assert front_desk.post(url, {"lines": [first.pk], "visit": visit.pk}).status_code == 403
    assert doctor_client.post(url, {"lines": ["x"], "visit": visit.pk}).status_code == 400
    other = visit_of(approved, doctor, branch, patient=PatientFactory())
    refused = doctor_client.post(url, {"lines": [first.pk], "visit": other.pk})
    assert refused.status_code == 422
    assert "visits ahead" in refused.content.decode()
    response = doctor_client.post(url, {"lines": [first.pk], "visit": visit.pk})
    assert response.status_code == 200
    assert f'data-line-booked="{visit.pk}"' in response.content.decode()
    assert PlanLine.objects.get(pk=first.pk).appointment_id == visit.pk
