import datetime
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from pricelist.models import Price, PriceList, PriceListKind, Service, ServiceCategory
from pricelist.prices import base_list


class ServiceCategoryFactory(DjangoModelFactory):
    class Meta:
        model = ServiceCategory
        django_get_or_create = ("name",)

    name = "Терапия"


class ServiceFactory(DjangoModelFactory):
    class Meta:
        model = Service

    category = factory.SubFactory(ServiceCategoryFactory)
    code = factory.Sequence(lambda n: f"P-{n:04d}")
    name = factory.Sequence(lambda n: f"Услуга {n}")
    duration_minutes = 30
    price = Decimal("2500.00")


class BranchListFactory(DjangoModelFactory):
    class Meta:
        model = PriceList

    kind = PriceListKind.BRANCH
    name = factory.LazyAttribute(lambda o: f"Прайс {o.branch.name}")


def priced(service: Service, amount: str, *, on: datetime.date, price_list=None) -> Price:
    """A history entry written straight to the table (past days included)."""
    return Price.objects.create(
        price_list=price_list or base_list(),
        service=service,
        amount=Decimal(amount),
        effective_from=on,
    )
