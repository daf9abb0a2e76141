"""Properties of the discount engine over random orders (hypothesis; no database)."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing import discounts
from billing.discounts import DiscountRule, OrderLine
from billing.models import DiscountKind, DiscountScope
from clinic.money import round_money

HALF_KOPECK = Decimal("0.005")

kopecks = st.integers(min_value=0, max_value=10_000_000).map(lambda k: Decimal(k) / 100)
lines_strategy = st.lists(
    st.builds(
        lambda service, category, quantity, price: OrderLine.of(
            service_id=service, category_id=category, quantity=quantity, unit_price=price
        ),
        st.integers(1, 6),
        st.integers(1, 3),
        st.integers(1, 5),
        kopecks,
    ),
    min_size=0,
    max_size=12,
)
percents = st.integers(min_value=1, max_value=10_000).map(lambda n: Decimal(n) / 100)
amounts = st.integers(min_value=1, max_value=100_000_000).map(lambda k: Decimal(k) / 100)
rules = st.builds(
    lambda discount_id, kind, percent, amount, scope, services, categories: DiscountRule(
        discount_id=discount_id,
        name="r",
        kind=kind,
        value=percent if kind == DiscountKind.PERCENT else amount,
        scope=scope,
        service_ids=frozenset(services),
        category_ids=frozenset(categories),
    ),
    st.integers(1, 50),
    st.sampled_from(DiscountKind.values),
    percents,
    amounts,
    st.sampled_from(DiscountScope.values),
    st.sets(st.integers(1, 6), max_size=3),
    st.sets(st.integers(1, 3), max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(rule=rules, lines=lines_strategy)
def test_line_discounts_are_never_negative_nor_more_than_their_lines(rule, lines):
    result = discounts.apply(rule, lines)
    assert len(result.lines) == len(lines)
    for line, applied in zip(lines, result.lines, strict=True):
        assert Decimal(0) <= applied.amount <= line.amount
        assert applied.amount == round_money(applied.amount)  # whole kopecks
        if not rule.covers(line):
            assert applied.amount == 0
    assert Decimal(0) <= result.total <= sum((line.amount for line in lines), Decimal(0))


@settings(max_examples=400, deadline=None)
@given(percent=percents, lines=lines_strategy)
def test_a_percent_of_the_order_is_the_rounded_total_within_half_a_kopeck_a_line(percent, lines):
    rule = DiscountRule(discount_id=1, name="p", kind=DiscountKind.PERCENT, value=percent)
    total = sum((line.amount for line in lines), Decimal(0))
    result = discounts.apply(rule, lines)
    exact = total * percent / 100
    assert abs(result.total - exact) <= HALF_KOPECK * len(lines)
    assert abs(result.total - round_money(exact)) <= HALF_KOPECK * len(lines) + HALF_KOPECK


@settings(max_examples=400, deadline=None)
@given(amount=amounts, lines=lines_strategy)
def test_a_fixed_amount_gives_exactly_itself_or_the_whole_order(amount, lines):
    rule = DiscountRule(discount_id=1, name="a", kind=DiscountKind.AMOUNT, value=amount)
    total = sum((line.amount for line in lines), Decimal(0))
    assert discounts.apply(rule, lines).total == min(amount, total)


@settings(max_examples=200, deadline=None)
@given(candidates=st.lists(rules, max_size=6), lines=lines_strategy)
def test_the_best_saves_at_least_as_much_as_any_other(candidates, lines):
    best = discounts.best_of(candidates, lines)
    totals = [discounts.apply(rule, lines).total for rule in candidates]
    if best is None:
        assert all(total == 0 for total in totals)
    else:
        assert best.total == max(totals) > 0
        tied = [r.discount_id for r, t in zip(candidates, totals, strict=True) if t == best.total]
        assert best.discount_id == min(tied)
