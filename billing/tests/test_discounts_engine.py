import datetime
from decimal import Decimal

import pytest

from billing import discounts
from billing.discounts import DiscountRule, OrderLine
from billing.models import DiscountKind, DiscountRecipients, DiscountScope
from billing.tests.discount_factories import DiscountFactory
from calendar_app.tests.factories import ServiceCategoryFactory, ServiceFactory
from patients.tests.factories import PatientFactory, PatientGroupFactory

D = Decimal
DAY = datetime.date(2026, 6, 15)


def line(amount: str, service_id: int = 1, category_id: int = 1, quantity: int = 1) -> OrderLine:
    return OrderLine.of(
        service_id=service_id,
        category_id=category_id,
        quantity=quantity,
        unit_price=D(amount) / quantity,
    )


def rule(kind: str = "percent", value: str = "10", **fields) -> DiscountRule:
    return DiscountRule(discount_id=1, name="Правило", kind=kind, value=D(value), **fields)


def amounts(result) -> list[Decimal]:
    return [applied.amount for applied in result.lines]


# --- Pure arithmetic ---------------------------------------------------------------------


def test_order_line_amount_is_quantity_times_price_in_kopecks():
    assert OrderLine.of(
        service_id=1, category_id=1, quantity=3, unit_price=D("333.335")
    ).amount == D("1000.01")


def test_a_percent_is_rounded_half_up_on_each_line():
    result = discounts.apply(rule(value="10"), [line("0.05"), line("0.15"), line("100.00")])
    assert amounts(result) == [D("0.01"), D("0.02"), D("10.00")]  # 0.005 -> 0.01, 0.015 -> 0.02
    assert result.total == D("10.03")


def test_a_percent_on_the_whole_order_names_the_discount_on_each_line():
    result = discounts.apply(rule(value="5"), [line("1000"), line("500")])
    assert [a.discount_id for a in result.lines] == [1, 1]
    assert {a.name for a in result.lines} == {"Правило"}


def test_only_the_chosen_services_or_categories_are_discounted():
    chosen = rule(scope=DiscountScope.ONLY, service_ids=frozenset({7}), category_ids=frozenset({3}))
    lines = [
        line("1000", service_id=7),
        line("1000", service_id=8, category_id=3),
        line("1000", 9, 4),
    ]
    assert amounts(discounts.apply(chosen, lines)) == [D("100.00"), D("100.00"), D("0.00")]


def test_everything_but_the_chosen_services_is_discounted():
    but = rule(scope=DiscountScope.EXCEPT, service_ids=frozenset({7}), category_ids=frozenset({3}))
    lines = [
        line("1000", service_id=7),
        line("1000", service_id=8, category_id=3),
        line("1000", 9, 4),
    ]
    result = discounts.apply(but, lines)
    assert amounts(result) == [D("0.00"), D("0.00"), D("100.00")]
    assert [a.discount_id for a in result.lines] == [None, None, 1]


def test_a_fixed_amount_is_spread_in_proportion_with_the_remainder_on_the_largest_line():
    result = discounts.apply(rule("amount", "100"), [line("100"), line("100"), line("100.01")])
    # 33.33 + 33.33 + 33.34: the remainder kopeck goes to the largest line.
    assert amounts(result) == [D("33.33"), D("33.33"), D("33.34")]
    assert result.total == D("100.00")


def test_a_negative_remainder_comes_off_the_largest_line():
    # 10 over three equal lines rounds to 3.33 each (9.99); over 1:1:1:1 of 5 each 2.50...
    result = discounts.apply(rule("amount", "0.02"), [line("1"), line("1"), line("1")])
    # 0.00667 rounds to 0.01 each: 0.03, one kopeck too many, taken off the first largest.
    assert amounts(result) == [D("0.00"), D("0.01"), D("0.01")]


def test_a_fixed_amount_larger_than_the_order_gives_the_order_and_no_more():
    result = discounts.apply(rule("amount", "1000"), [line("250"), line("350.50")])
    assert amounts(result) == [D("250.00"), D("350.50")]


def test_a_fixed_amount_only_on_the_covered_lines():
    chosen = rule("amount", "1000", scope=DiscountScope.ONLY, service_ids=frozenset({5}))
    result = discounts.apply(chosen, [line("2500", service_id=5), line("9000", service_id=6)])
    assert amounts(result) == [D("1000.00"), D("0.00")]


def test_lines_of_zero_get_nothing():
    result = discounts.apply(rule("amount", "50"), [line("0"), line("100")])
    assert amounts(result) == [D("0.00"), D("50.00")]


def test_best_of_takes_the_larger_saving_and_the_smaller_id_on_a_tie():
    lines = [line("1000")]
    ten = DiscountRule(discount_id=9, name="10 %", kind="percent", value=D(10))
    hundred = DiscountRule(discount_id=4, name="100 ₽", kind="amount", value=D(100))
    fifty = DiscountRule(discount_id=2, name="5 %", kind="percent", value=D(5))
    best = discounts.best_of([ten, hundred, fifty], lines)
    assert best is not None and best.discount_id == 4  # 100 = 100: the earlier one
    twelve = DiscountRule(discount_id=10, name="12 %", kind="percent", value=D(12))
    assert discounts.best_of([ten, hundred, twelve], lines).discount_id == 10


def test_best_of_is_none_when_nothing_saves():
    other = rule(scope=DiscountScope.ONLY, service_ids=frozenset({99}))
    assert discounts.best_of([other], [line("1000")]) is None
    assert discounts.best_of([], [line("1000")]) is None


def test_a_manual_line_discount_has_the_same_shape_without_a_discount_id():
    applied = discounts.manual_line_discount(line("999.99"), kind="percent", value=D("15"))
    assert applied.amount == D("150.00") and applied.discount_id is None and applied.is_manual
    applied = discounts.manual_line_discount(line("300"), kind="amount", value=D("500"))
    assert applied.amount == D("300.00")


@pytest.mark.parametrize("kind,value", [("percent", "0"), ("percent", "101"), ("amount", "-1")])
def test_a_manual_discount_out_of_range_is_refused(kind, value):
    with pytest.raises(ValueError):
        discounts.manual_order_discount([line("100")], kind=kind, value=D(value))


def test_age_on_counts_whole_years_and_the_birthday():
    born = datetime.date(1966, 6, 15)
    assert discounts.age_on(born, datetime.date(2026, 6, 14)) == 59
    assert discounts.age_on(born, datetime.date(2026, 6, 15)) == 60
    leap = datetime.date(2008, 2, 29)
    assert discounts.age_on(leap, datetime.date(2026, 2, 28)) == 17
    assert discounts.age_on(leap, datetime.date(2026, 3, 1)) == 18


# --- Who gets what (the database) --------------------------------------------------------


def ids(rules) -> list[int | None]:
    return [r.discount_id for r in rules]


@pytest.mark.django_db
def test_a_discount_for_everyone_applies_to_anyone_and_to_no_card():
    everyone = DiscountFactory()
    assert ids(discounts.applicable_discounts(PatientFactory(), DAY)) == [everyone.pk]
    assert ids(discounts.applicable_discounts(None, DAY)) == [everyone.pk]


@pytest.mark.django_db
def test_an_inactive_or_deleted_discount_does_not_apply():
    DiscountFactory(active=False)
    from django.utils import timezone

    DiscountFactory(deleted_at=timezone.now())
    assert discounts.applicable_discounts(PatientFactory(), DAY) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "valid_from,valid_to,applies",
    [
        (None, None, True),
        (DAY, DAY, True),
        (DAY - datetime.timedelta(days=30), DAY - datetime.timedelta(days=1), False),
        (DAY + datetime.timedelta(days=1), None, False),
        (None, DAY, True),
        (DAY, None, True),
        (None, DAY - datetime.timedelta(days=1), False),
    ],
)
def test_a_discount_applies_only_within_its_period(valid_from, valid_to, applies):
    discount = DiscountFactory(valid_from=valid_from, valid_to=valid_to)
    found = ids(discounts.applicable_discounts(PatientFactory(), DAY))
    assert found == ([discount.pk] if applies else [])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "born,applies",
    [
        (datetime.date(1966, 6, 15), True),  # 60 on the day
        (datetime.date(1966, 6, 16), False),  # 60 tomorrow
        (datetime.date(1956, 6, 16), True),  # 69 (70 tomorrow)
        (datetime.date(1956, 6, 15), False),  # 70 on the day: past the range
        (None, False),  # no date of birth: no age discount
    ],
)
def test_an_age_range_includes_both_ends_on_the_visit_date(born, applies):
    discount = DiscountFactory(recipients=DiscountRecipients.AGE, age_from=60, age_to=69)
    patient = PatientFactory(birth_date=born)
    found = ids(discounts.applicable_discounts(patient, DAY))
    assert found == ([discount.pk] if applies else [])


@pytest.mark.django_db
def test_an_open_age_range():
    children = DiscountFactory(recipients=DiscountRecipients.AGE, age_to=17)
    adult = PatientFactory(birth_date=datetime.date(2000, 1, 1))
    child = PatientFactory(birth_date=datetime.date(2015, 1, 1))
    assert ids(discounts.applicable_discounts(child, DAY)) == [children.pk]
    assert discounts.applicable_discounts(adult, DAY) == []


@pytest.mark.django_db
def test_a_group_discount_applies_to_the_group_only():
    vip, staff = PatientGroupFactory(name="VIP"), PatientGroupFactory(name="Сотрудники")
    discount = DiscountFactory(recipients=DiscountRecipients.GROUP, patient_groups=[vip, staff])
    assert ids(discounts.applicable_discounts(PatientFactory(patient_group=vip), DAY)) == [
        discount.pk
    ]
    other = PatientGroupFactory(name="Прочие")
    assert discounts.applicable_discounts(PatientFactory(patient_group=other), DAY) == []
    assert discounts.applicable_discounts(PatientFactory(), DAY) == []


@pytest.mark.django_db
def test_a_discount_for_chosen_patients_applies_to_them_only():
    chosen, other = PatientFactory(), PatientFactory()
    discount = DiscountFactory(recipients=DiscountRecipients.PATIENTS, patients=[chosen])
    assert ids(discounts.applicable_discounts(chosen, DAY)) == [discount.pk]
    assert discounts.applicable_discounts(other, DAY) == []
    assert discounts.applicable_discounts(None, DAY) == []


@pytest.mark.django_db
def test_applicable_discounts_read_their_lists_in_one_query(django_assert_num_queries):
    hygiene = ServiceCategoryFactory(name="Гигиена")
    services = [ServiceFactory() for _ in range(4)]
    patient = PatientFactory(patient_group=PatientGroupFactory())
    DiscountFactory(scope=DiscountScope.ONLY, services=services[:3], categories=[hygiene])
    DiscountFactory(scope=DiscountScope.EXCEPT, services=services[3:])
    DiscountFactory(recipients=DiscountRecipients.GROUP, patient_groups=[patient.patient_group])
    DiscountFactory(recipients=DiscountRecipients.PATIENTS, patients=[patient])
    DiscountFactory(recipients=DiscountRecipients.AGE, age_from=18)
    with django_assert_num_queries(1):
        rules = discounts.applicable_discounts(patient, DAY)
    assert len(rules) == 5
    assert rules[0].service_ids == frozenset(s.pk for s in services[:3])
    assert rules[0].category_ids == frozenset({hygiene.pk})
    assert (
        rules[1].service_ids == frozenset({services[3].pk}) and rules[1].category_ids == frozenset()
    )
    assert rules[0] == DiscountRule.of(_discount(rules[0].discount_id))


def _discount(pk):
    from billing.models import Discount

    return Discount.objects.get(pk=pk)


@pytest.mark.django_db
def test_best_discount_picks_what_saves_most_for_the_patient(django_assert_num_queries):
    hygiene = ServiceCategoryFactory(name="Профессиональная гигиена")
    cleaning = ServiceFactory(category=hygiene, price=D("8500"))
    filling = ServiceFactory(price=D("7500"))
    DiscountFactory(name="Гигиена 10 %", scope=DiscountScope.ONLY, categories=[hygiene])
    seniors = DiscountFactory(
        name="60+ 5 %", recipients=DiscountRecipients.AGE, age_from=60, value=D(5)
    )
    ortho = DiscountFactory(
        name="1000 ₽", kind=DiscountKind.AMOUNT, value=D(1000), valid_to=DAY - datetime.timedelta(1)
    )
    lines = [
        OrderLine.of(service_id=s.pk, category_id=s.category_id, quantity=1, unit_price=s.price)
        for s in (cleaning, filling)
    ]
    senior = PatientFactory(birth_date=datetime.date(1950, 1, 1))
    with django_assert_num_queries(1):
        best = discounts.best_discount(senior, DAY, lines)
    # Hygiene: 850; 60+: 425 + 375 = 800; the 1000 ₽ one ended yesterday.
    assert best is not None and best.rule.name == "Гигиена 10 %" and best.total == D("850.00")
    assert ortho.pk not in ids(discounts.applicable_discounts(senior, DAY))
    lines.append(
        OrderLine.of(
            service_id=filling.pk, category_id=filling.category_id, quantity=2, unit_price=D("7500")
        )
    )
    best = discounts.best_discount(senior, DAY, lines)
    assert best.discount_id == seniors.pk and best.total == D("1550.00")
    assert discounts.best_discount(senior, DAY, []) is None


@pytest.mark.django_db
def test_apply_reads_a_saved_discount(django_assert_num_queries):
    service = ServiceFactory()
    discount = DiscountFactory(scope=DiscountScope.ONLY, services=[service], value=D(20))
    lines = [
        line("1000", service_id=service.pk, category_id=service.category_id),
        line("1000", 0, 0),
    ]
    with django_assert_num_queries(2):
        result = discounts.apply(discount, lines)
    assert amounts(result) == [D("200.00"), D("0.00")]


@pytest.mark.django_db
def test_auto_select_is_a_module_setting_off_by_default(admin_persona):
    from clinic import preferences

    assert discounts.auto_select_enabled() is False
    preferences.preferences_set(
        values={discounts.AUTO_SELECT_DISCOUNT: True}, by=admin_persona.user
    )
    assert discounts.auto_select_enabled() is True
