"""The Discounts module on invoices: a chosen discount, the best one picked by itself when
the setting says so, a line's own discount winning, and the discount kept on the line."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing import services
from billing.amounts import DiscountAsked
from billing.models import DiscountKind, DiscountScope, InvoiceLine
from clinic import preferences
from patients.tests.factories import PatientFactory

from .discount_factories import DiscountFactory
from .factories import service

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def auto_select(db, admin_persona):
    preferences.preferences_set(
        values={"billing.auto_select_discount": True}, by=admin_persona.user
    )
    yield
    preferences.preferences_set(
        values={"billing.auto_select_discount": False}, by=admin_persona.user
    )


def draft(branch, user, patient, lines, **kwargs):
    return services.invoice_create(patient=patient, branch=branch, by=user, lines=lines, **kwargs)


def test_without_the_setting_no_discount_is_taken_by_itself(branch, admin_persona):
    DiscountFactory(value=D("10"))
    invoice = draft(
        branch, admin_persona.user, PatientFactory(), [services.LineInput(service=service("1000"))]
    )
    assert invoice.total == D("1000.00")


def test_the_setting_takes_the_discount_that_saves_most_and_the_line_keeps_it(
    branch, admin_persona, auto_select
):
    small = DiscountFactory(name="Пять", value=D("5"))
    big = DiscountFactory(name="Пятьсот", kind=DiscountKind.AMOUNT, value=D("500"))
    invoice = draft(
        branch,
        admin_persona.user,
        PatientFactory(),
        [services.LineInput(service=service("3000")), services.LineInput(service=service("1000"))],
    )
    assert invoice.total == D("3500.00")  # 500 off beats 5 % (200)
    lines = list(InvoiceLine.objects.filter(invoice=invoice).order_by("position"))
    assert {line.discount_ref for line in lines} == {big.pk}
    assert [line.discount for line in lines] == [D("375.00"), D("125.00")]
    assert all(line.discount_label == "Пятьсот" for line in lines)
    assert small.pk not in {line.discount_ref for line in lines}


def test_a_chosen_discount_applies_to_the_lines_without_their_own(branch, admin_persona):
    hygiene = service("2000")
    chosen = DiscountFactory(
        name="Гигиена", value=D("10"), scope=DiscountScope.ONLY, services=[hygiene]
    )
    other = service("1000")
    invoice = draft(
        branch,
        admin_persona.user,
        PatientFactory(),
        [
            services.LineInput(service=hygiene),
            services.LineInput(service=hygiene, discount=DiscountAsked(percent=D("50"))),
            services.LineInput(service=other),
        ],
        chosen_discount=chosen,
    )
    lines = list(InvoiceLine.objects.filter(invoice=invoice).order_by("position"))
    assert [(line.discount, line.discount_ref) for line in lines] == [
        (D("200.00"), chosen.pk),
        (D("1000.00"), None),  # its own 50 % wins
        (D("0.00"), None),  # not a hygiene service
    ]


def test_a_discount_outside_its_period_or_for_someone_else_is_refused(branch, admin_persona):
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    over = DiscountFactory(name="Прошла", valid_to=yesterday)
    lines = [services.LineInput(service=service("1000"))]
    with pytest.raises(ValidationError, match="does not apply"):
        draft(branch, admin_persona.user, PatientFactory(), lines, chosen_discount=over)
    someone = DiscountFactory(name="Лично", recipients="patients", patients=[PatientFactory()])
    with pytest.raises(ValidationError, match="does not apply"):
        draft(branch, admin_persona.user, PatientFactory(), lines, chosen_discount=someone)


def test_the_dialog_offers_the_patients_discounts_and_applies_the_chosen_one(
    branch, admin_persona, admin_client
):
    patient = PatientFactory()
    chosen = DiscountFactory(name="Для диалога", value=D("10"))
    DiscountFactory(name="Не для него", recipients="patients", patients=[PatientFactory()])
    priced = service("1500")
    url = reverse("billing:invoice-new", args=[patient.pk])
    page = admin_client.get(url, {"services": "1"}).content.decode()
    assert "Для диалога" in page and "Не для него" not in page
    response = admin_client.post(
        f"{url}?services=1",
        {
            "services": "1",
            "service-0": priced.pk,
            "quantity-0": "1",
            "chosen_discount": chosen.pk,
            "branch": branch.pk,
        },
    )
    assert response.status_code == 204, response.content.decode()[:500]
    line = InvoiceLine.objects.get(invoice__patient=patient)
    assert (line.discount, line.discount_ref) == (D("150.00"), chosen.pk)
