"""Which price a service has for a branch on a day: the one question every caller asks
(booking, invoices, plans).

The rule: the branch's own list (when it has one and it is active) if that list has a price
of the service in effect on the day (its latest entry dated on or before the day); else
the base list's price in effect on the day; else, for a service the price history does not
know yet (made before the lists, or by a test factory), ``Service.price``.
"""

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from clinic.models import Branch
from pricelist.models import Price, PriceList, PriceListKind, Service


def base_list() -> PriceList:
    """The base list; made if a flushed database (a transactional test) lost it."""
    found = PriceList.objects.filter(kind=PriceListKind.BASE).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return PriceList.objects.create(kind=PriceListKind.BASE, name=_("Base price list"))
    except IntegrityError:
        return PriceList.objects.get(kind=PriceListKind.BASE)


def price_for(service: Service, *, branch: Branch | None, on: datetime.date) -> Decimal:
    return prices_for([service], branch=branch, on=on)[service.pk]


def prices_for(
    services: Iterable[Service], *, branch: Branch | None, on: datetime.date
) -> dict[int, Decimal]:
    """Prices by service id, in one query whatever the number of services."""
    services = list(services)
    if not services:
        return {}
    return prices_from(services, prices_query(services, branch=branch, on=on))


def prices_query(
    services: Iterable[Service], *, branch: Branch | None, on: datetime.date
) -> QuerySet:
    """What ``prices_for`` reads (non-empty ``services``), for a caller that sends it along
    with other statements (``clinic.db.pipelined``) and hands the rows to ``prices_from``."""
    lists = Q(price_list__kind=PriceListKind.BASE)
    if branch is not None:
        lists |= Q(
            price_list__kind=PriceListKind.BRANCH,
            price_list__branch_id=branch.pk,
            price_list__active=True,
        )
    # Every entry up to the day, newest first: the first seen per (service, kind) is the
    # one in effect. A service's history is a handful of rows, so no DISTINCT ON is needed
    # (and SQLite has none).
    return (
        Price.objects.filter(lists, service_id__in={s.pk for s in services}, effective_from__lte=on)
        .order_by("service_id", "-effective_from")
        .values_list("service_id", "price_list__kind", "amount")
    )


def prices_from(
    services: Iterable[Service], rows: Iterable[tuple[int, str, Decimal]]
) -> dict[int, Decimal]:
    """Prices by service id from the rows of ``prices_query``."""
    in_effect: dict[tuple[int, str], Decimal] = {}
    for service_id, kind, amount in rows:
        in_effect.setdefault((service_id, kind), amount)
    return {
        service.pk: in_effect.get(
            (service.pk, PriceListKind.BRANCH),
            in_effect.get((service.pk, PriceListKind.BASE), service.price),
        )
        for service in services
    }
