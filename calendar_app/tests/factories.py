import datetime
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from calendar_app.models import Appointment, WaitingListEntry, WorkShift
from pricelist.models import Service, ServiceCategory


class ServiceCategoryFactory(DjangoModelFactory):
    class Meta:
        model = ServiceCategory
        django_get_or_create = ("name",)

    name = "Терапия"


class ServiceFactory(DjangoModelFactory):
    class Meta:
        model = Service

    category = factory.SubFactory(ServiceCategoryFactory)
    code = factory.Sequence(lambda n: f"T-{n:04d}")
    name = factory.Sequence(lambda n: f"Услуга {n}")
    duration_minutes = 30
    price = Decimal("2500.00")


class WorkShiftFactory(DjangoModelFactory):
    class Meta:
        model = WorkShift

    branch = factory.LazyAttribute(lambda o: o.chair.branch)


class AppointmentFactory(DjangoModelFactory):
    class Meta:
        model = Appointment

    branch = factory.LazyAttribute(lambda o: o.chair.branch)
    end = factory.LazyAttribute(lambda o: o.start + datetime.timedelta(minutes=30))


class WaitingListEntryFactory(DjangoModelFactory):
    class Meta:
        model = WaitingListEntry

    duration_minutes = 30
