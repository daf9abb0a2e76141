"""``pricelist.prices``: the branch's own list over the base list, the history by date, one
query for many services."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pricelist.models import Service
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


def test_clinical_reads_typical_codes_by_service_and_services_by_code():
    from pricelist.selectors import services_for_codes, typical_codes

    filling, crown = ServiceFactory(), ServiceFactory()
    filling.typical_diagnoses.create(code="K02.1")
    filling.typical_diagnoses.create(code="K02.2")
    crown.typical_diagnoses.create(code="K02.1")
    assert typical_codes([filling.pk, crown.pk]) == {
        filling.pk: ["K02.1", "K02.2"],
        crown.pk: ["K02.1"],
    }
    assert set(services_for_codes(["K02.1"])) == {filling, crown}
    assert list(services_for_codes(["K02.2", "K99.9"])) == [filling]


def test_the_loader_gives_base_prices_codes_and_consumables(settings):
    from pathlib import Path

    from pricelist.loading import load_price_list
    from pricelist.models import Price, Service

    path = Path(settings.BASE_DIR) / "pricelist" / "data" / "dental_services_ru.csv"
    load_price_list(path)
    service = Service.objects.get(code="B01.065.001")
    assert Price.objects.get(service=service, price_list=base_list()).amount == service.price
    assert list(service.typical_diagnoses.values_list("code", flat=True)) == [
        "K02.1",
        "K04.0",
        "K04.5",
        "Z01.2",
    ]
    gloves = service.consumables.first()
    assert (gloves.material, gloves.unit, gloves.mode, gloves.value) == (
        "Перчатки",
        "пара",
        "quantity",
        Decimal("1.000"),
    )
    load_price_list(path)  # again: nothing doubles
    assert Price.objects.filter(service=service).count() == 1
    assert service.consumables.count() == 4


def test_the_service_price_catches_up_with_a_base_price_that_comes_into_effect(branch, admin_user):
    from django.conf import settings

    from pricelist import services, tasks

    today = timezone.localdate()
    later = today + datetime.timedelta(days=3)
    rising = ServiceFactory(price=Decimal("1000.00"))
    steady = ServiceFactory(price=Decimal("500.00"))
    unknown = ServiceFactory(price=Decimal("700.00"))  # no history: keeps its own price
    priced(rising, "1000.00", on=JAN)
    priced(steady, "500.00", on=JAN)
    services.price_set(
        price_list=base_list(),
        service=rising,
        amount=Decimal("1300.00"),
        effective_from=later,
        by=admin_user,
    )
    priced(steady, "450.00", on=later, price_list=BranchListFactory(branch=branch))
    rising.refresh_from_db()
    assert rising.price == Decimal("1000.00")  # not yet
    assert tasks.base_prices_catch_up() == 0
    with time_machine.travel(later, tick=False):
        assert tasks.base_prices_catch_up() == 1
        assert tasks.base_prices_catch_up() == 0
    prices = dict(
        Service.all_objects.filter(pk__in=[rising.pk, steady.pk, unknown.pk]).values_list(
            "pk", "price"
        )
    )
    assert prices == {
        rising.pk: Decimal("1300.00"),
        steady.pk: Decimal("500.00"),
        unknown.pk: Decimal("700.00"),
    }
    schedule = settings.CELERY_BEAT_SCHEDULE["base-prices-catch-up"]
    assert schedule["task"] == "pricelist.tasks.base_prices_catch_up"
