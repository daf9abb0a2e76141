"""``pricelist.prices``: the branch's own list over the base list, the history by date, one
query for many services."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pricelist.prices import base_list, price_for, prices_for

from .factories import BranchListFactory, ServiceFactory, priced

pytestmark = pytest.mark.django_db

JAN = datetime.date(2026, 1, 1)
JUN = datetime.date(2026, 6, 1)


def test_the_base_list_history_answers_by_date():
    service = ServiceFactory(price=Decimal("9999.00"))
    priced(service, "1000.00", on=JAN)
    priced(service, "1200.00", on=JUN)
    assert price_for(service, branch=None, on=JAN - datetime.timedelta(days=1)) == Decimal(
        "9999.00"
    )  # before any entry: the service's own price
    assert price_for(service, branch=None, on=JAN) == Decimal("1000.00")
    assert price_for(service, branch=None, on=JUN - datetime.timedelta(days=1)) == Decimal(
        "1000.00"
    )
    assert price_for(service, branch=None, on=JUN) == Decimal("1200.00")


def test_a_branch_list_wins_where_it_prices_the_service_else_the_base_list(
    branch, branch_elsewhere
):
    own, shared = ServiceFactory(), ServiceFactory()
    priced(own, "1000.00", on=JAN)
    priced(shared, "500.00", on=JAN)
    branch_list = BranchListFactory(branch=branch)
    priced(own, "1300.00", on=JUN, price_list=branch_list)
    prices = prices_for([own, shared], branch=branch, on=JUN)
    assert prices == {own.pk: Decimal("1300.00"), shared.pk: Decimal("500.00")}
    # Before the branch's entry takes effect, and in another branch: the base price.
    assert price_for(own, branch=branch, on=JAN) == Decimal("1000.00")
    assert price_for(own, branch=branch_elsewhere, on=JUN) == Decimal("1000.00")


def test_an_inactive_branch_list_is_ignored(branch):
    service = ServiceFactory()
    priced(service, "1000.00", on=JAN)
    branch_list = BranchListFactory(branch=branch, active=False)
    priced(service, "1300.00", on=JAN, price_list=branch_list)
    assert price_for(service, branch=branch, on=JUN) == Decimal("1000.00")


def test_many_services_are_priced_in_one_query(branch):
    services = [ServiceFactory() for _ in range(30)]
    branch_list = BranchListFactory(branch=branch)
    for number, service in enumerate(services):
        priced(service, f"{1000 + number}.00", on=JAN)
        priced(service, f"{2000 + number}.00", on=JUN)
        if number % 2:
            priced(service, f"{3000 + number}.00", on=JAN, price_list=branch_list)
    base_list()
    with CaptureQueriesContext(connection) as queries:
        prices = prices_for(services, branch=branch, on=JUN)
    assert len(queries) == 1
    assert prices[services[0].pk] == Decimal("2000.00")
    assert prices[services[1].pk] == Decimal("3001.00")
    assert prices_for([], branch=branch, on=JUN) == {}
