"""Which price a service has for a branch on a day: the one question every caller asks
(booking, invoices, plans). Price lists and the price history answer it once they land."""

import datetime
from collections.abc import Iterable
from decimal import Decimal

from clinic.models import Branch
from pricelist.models import Service


def price_for(service: Service, *, branch: Branch | None, on: datetime.date) -> Decimal:
    return prices_for([service], branch=branch, on=on)[service.pk]


def prices_for(
    services: Iterable[Service], *, branch: Branch | None, on: datetime.date
) -> dict[int, Decimal]:
    """Prices by service id, in one query whatever the number of services."""
    return {service.pk: service.price for service in services}
