"""Billing test helpers: a completed visit with services, an approved plan, an issued invoice."""

import datetime
from decimal import Decimal

from django.utils import timezone

from billing import services
from billing.amounts import DiscountAsked
from billing.methods import method_of_kind
from billing.models import Invoice, PaymentKind, PaymentMethod
from calendar_app.models import Appointment, AppointmentService, StatusCode
from calendar_app.tests.factories import AppointmentFactory, ServiceFactory
from clinic.tests.factories import ChairFactory
from clinical import plans
from clinical.models import PlanStatus, TreatmentPlan
from patients.models import Patient
from patients.tests.factories import PatientFactory


def cash() -> PaymentMethod:
    return method_of_kind(PaymentKind.CASH)


def card() -> PaymentMethod:
    return method_of_kind(PaymentKind.CARD)


def service(price="1000.00", **kwargs):
    return ServiceFactory(price=Decimal(price), **kwargs)


def completed_visit(branch, doctor, patient=None, prices=("1000.00",)) -> Appointment:
    start = timezone.now() - datetime.timedelta(days=1)
    visit = AppointmentFactory(
        patient=patient or PatientFactory(),
        doctor=doctor,
        chair=ChairFactory(branch=branch),
        start=start,
        status=StatusCode.COMPLETED,
    )
    for price in prices:
        AppointmentService.objects.create(
            appointment=visit, service=service(price), price=Decimal(price)
        )
    return visit


def approved_plan(
    branch, persona, patient=None, prices=("1000.00",), approve=True
) -> TreatmentPlan:
    plan = plans.plan_create(
        patient=patient or PatientFactory(),
        branch=branch,
        doctor=persona.employee,
        by=persona.user,
    )
    for price in prices:
        plans.lines_add(
            plan=plan, service=service(price), teeth_numbers=[], quantity=1, by=persona.user
        )
    if approve:
        plans.plan_set_status(plan=plan, status=PlanStatus.APPROVED, by=persona.user)
    plan.refresh_from_db()
    return plan


def issued_invoice(
    branch, user, patient: Patient | None = None, prices=("1000.00",), discount=None
) -> Invoice:
    lines = [services.LineInput(service=service(price)) for price in prices]
    invoice = services.invoice_create(
        patient=patient or PatientFactory(),
        branch=branch,
        lines=lines,
        by=user,
        discount=DiscountAsked(percent=Decimal(discount)) if discount else None,
    )
    return services.invoice_issue(invoice=invoice, by=user)
