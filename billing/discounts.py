"""The discount engine: what a discount takes off each line of an order.

Pure and fast: the discounts a patient may get on a day are read in one query
(``applicable_discounts``), as ``DiscountRule`` values; applying one to lines is arithmetic
on ``Decimal``, with no query. The invoice stores, per line, the ``AppliedDiscount`` it got
(the amount and which discount gave it: the discounts report reads that).

**What a discount covers.** A line is covered by a discount of scope "whole order" always,
of scope "only" when its service or its service's category is listed, of scope "except"
when neither is.

**Rounding** (kopecks, ``ROUND_HALF_UP``, per line; ``clinic.money.round_money``):

- *Percent*: each covered line gets ``round(line amount × percent / 100)``. The order's
  discount is the sum of the lines', so it may differ from ``round(total × percent / 100)``
  by at most half a kopeck per covered line.
- *Fixed amount*: the amount is taken off the covered lines together, never more than their
  total (a 1,000 ₽ discount on a 600 ₽ order gives 600 ₽). It is spread over the covered
  lines in proportion to their amounts, each share rounded, and what rounding leaves over
  (or takes too much, a negative remainder) goes to the largest line (the first of equal
  ones). No line gets more than its amount or less than zero: a remainder the largest line
  cannot take goes on to the next largest. So the lines' discounts add up to exactly the
  discount.
- A line's discount is never negative and never more than the line's amount.

**The best discount** (``best_discount``) is the one whose lines' discounts add up to the
most. Ties go to the discount with the smaller id (the one created first), so the choice
does not change from one call to the next. A discount that gives nothing is never chosen.

A manual discount (the cashier's percent or amount on one line, or on the whole invoice) is
computed by the same rules (``manual_line_discount``, ``manual_order_discount``) and has the
same shape, with ``discount_id`` None.
"""

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import CharField, DecimalField, IntegerField, Q, Value

from billing.models import Discount, DiscountKind, DiscountRecipients, DiscountScope
from clinic.money import round_money

# The module setting (Settings -> Modules -> Discounts): choose the best discount by itself.
AUTO_SELECT_DISCOUNT = "billing.auto_select_discount"

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class OrderLine:
    """One line of an order to discount: a service of the price list, how many, at what.

    ``amount`` is the line's total before any discount (``quantity × unit_price``, rounded to
    kopecks); ``OrderLine.of`` computes it."""

    service_id: int
    category_id: int
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal

    @classmethod
    def of(
        cls, *, service_id: int, category_id: int, quantity: Decimal | int, unit_price: Decimal
    ) -> "OrderLine":
        quantity = Decimal(quantity)
        return cls(
            service_id, category_id, quantity, unit_price, round_money(quantity * unit_price)
        )


@dataclass(frozen=True)
class DiscountRule:
    """A discount as the engine needs it: a plain value, read once (``applicable_discounts``
    or ``DiscountRule.of``). ``discount_id`` is None for a manual discount."""

    discount_id: int | None
    name: str
    kind: str  # DiscountKind
    value: Decimal
    scope: str = DiscountScope.ORDER
    service_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, discount: Discount) -> "DiscountRule":
        """The rule of a saved discount (two queries: its services and categories)."""
        return cls(
            discount_id=discount.pk,
            name=discount.name,
            kind=discount.kind,
            value=discount.value,
            scope=discount.scope,
            service_ids=frozenset(discount.services.values_list("pk", flat=True)),
            category_ids=frozenset(discount.categories.values_list("pk", flat=True)),
        )

    def covers(self, line: OrderLine) -> bool:
        if self.scope == DiscountScope.ORDER:
            return True
        listed = line.service_id in self.service_ids or line.category_id in self.category_ids
        return listed if self.scope == DiscountScope.ONLY else not listed


@dataclass(frozen=True)
class AppliedDiscount:
    """What one line got: the amount off (kopecks, 0 <= amount <= the line's amount) and
    where it came from. What the invoice line stores."""

    amount: Decimal
    discount_id: int | None  # None: a manual discount, or none at all
    name: str
    kind: str  # DiscountKind
    value: Decimal  # the percent or the fixed amount, as the discount states it

    @property
    def is_manual(self) -> bool:
        return self.discount_id is None


@dataclass(frozen=True)
class DiscountResult:
    """A discount applied to an order: one ``AppliedDiscount`` per line, in the lines'
    order (an amount of 0 for a line it does not cover)."""

    rule: DiscountRule
    lines: tuple[AppliedDiscount, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def discount_id(self) -> int | None:
        return self.rule.discount_id


def auto_select_enabled() -> bool:
    """Whether the best discount is chosen by itself when a service is added to an invoice
    (the module setting "Automatically choose the best discount")."""
    from clinic import preferences

    return bool(preferences.get(AUTO_SELECT_DISCOUNT))


# --- Reading ---------------------------------------------------------------------------


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    """Whole years on ``day`` (the birthday itself counts; 29 February counts on 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _recipients(patient: Any, on: datetime.date) -> Q:
    who = Q(recipients=DiscountRecipients.ALL)
    if patient is None:
        return who
    if patient.birth_date is not None and patient.birth_date <= on:
        age = age_on(patient.birth_date, on)
        who |= (
            Q(recipients=DiscountRecipients.AGE)
            & (Q(age_from__isnull=True) | Q(age_from__lte=age))
            & (Q(age_to__isnull=True) | Q(age_to__gte=age))
        )
    if patient.patient_group_id is not None:
        in_group = Discount.patient_groups.through.objects.filter(
            patientgroup_id=patient.patient_group_id
        ).values("discount_id")
        who |= Q(recipients=DiscountRecipients.GROUP, pk__in=in_group)
    if patient.pk is not None:
        chosen = Discount.patients.through.objects.filter(patient_id=patient.pk).values(
            "discount_id"
        )
        who |= Q(recipients=DiscountRecipients.PATIENTS, pk__in=chosen)
    return who


def applicable_filter(patient: Any, on: datetime.date) -> Q:
    """The discounts ``patient`` (a ``Patient``, or None for someone without a card: only
    discounts for everyone) may get on ``on``: active, alive, in their period."""
    return (
        Q(active=True)
        & (Q(valid_from__isnull=True) | Q(valid_from__lte=on))
        & (Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        & _recipients(patient, on)
    )


def applicable_discounts(patient: Any, on: datetime.date) -> list[DiscountRule]:
    """The rules of the discounts ``patient`` may get on ``on``, by id, in one query.

    The query reads each discount once and each of its listed services and categories once
    (rows joined from the two lists, never their product)."""
    matching = Discount.objects.filter(applicable_filter(patient, on))
    none = Value(None, output_field=IntegerField())
    heads = matching.order_by().values_list(
        "pk", Value(0, output_field=IntegerField()), none, "name", "kind", "value", "scope"
    )
    listed_services = Discount.services.through.objects.filter(
        discount_id__in=matching.values("pk")
    ).values_list(
        "discount_id",
        Value(1, output_field=IntegerField()),
        "service_id",
        Value("", output_field=_text()),
        Value("", output_field=_text()),
        Value(None, output_field=_decimal()),
        Value("", output_field=_text()),
    )
    listed_categories = Discount.categories.through.objects.filter(
        discount_id__in=matching.values("pk")
    ).values_list(
        "discount_id",
        Value(2, output_field=IntegerField()),
        "servicecategory_id",
        Value("", output_field=_text()),
        Value("", output_field=_text()),
        Value(None, output_field=_decimal()),
        Value("", output_field=_text()),
    )
    heads_by_id: dict[int, tuple] = {}
    services: dict[int, set[int]] = {}
    categories: dict[int, set[int]] = {}
    for pk, part, item, name, kind, value, scope in heads.union(
        listed_services, listed_categories, all=True
    ):
        if part == 0:
            heads_by_id[pk] = (name, kind, value, scope)
        elif part == 1:
            services.setdefault(pk, set()).add(item)
        else:
            categories.setdefault(pk, set()).add(item)
    return [
        DiscountRule(
            discount_id=pk,
            name=name,
            kind=kind,
            value=Decimal(value),
            scope=scope,
            service_ids=frozenset(services.get(pk, ())),
            category_ids=frozenset(categories.get(pk, ())),
        )
        for pk, (name, kind, value, scope) in sorted(heads_by_id.items())
    ]


def _text() -> CharField:
    return CharField()


def _decimal() -> DecimalField:
    return DecimalField(max_digits=12, decimal_places=2)


# --- Applying --------------------------------------------------------------------------


def _as_rule(discount: "Discount | DiscountRule") -> DiscountRule:
    return discount if isinstance(discount, DiscountRule) else DiscountRule.of(discount)


def _spread(total: Decimal, amounts: Sequence[Decimal]) -> list[Decimal]:
    """``total`` (<= sum of ``amounts``) in shares proportional to ``amounts``, in kopecks,
    adding up to ``total`` exactly, none above its amount or below zero (see the module's
    rounding rule)."""
    whole = sum(amounts, ZERO)
    if whole <= 0 or total <= 0:
        return [ZERO for _amount in amounts]
    shares = [round_money(total * amount / whole) for amount in amounts]
    remainder = total - sum(shares, ZERO)
    # The largest line first (the first of equal ones), then the next: a remainder one line
    # cannot take without leaving [0, its amount] goes on.
    order = sorted(range(len(amounts)), key=lambda i: (-amounts[i], i))
    for index in order:
        if remainder == 0:
            break
        taken = min(max(shares[index] + remainder, ZERO), amounts[index])
        remainder -= taken - shares[index]
        shares[index] = taken
    return shares


def apply(discount: "Discount | DiscountRule", lines: Sequence[OrderLine]) -> DiscountResult:
    """What ``discount`` takes off each of ``lines`` (see the module's rules). A saved
    ``Discount`` is read as a rule first (two queries); pass the rules of
    ``applicable_discounts`` to apply several without any."""
    rule = _as_rule(discount)
    covered = [rule.covers(line) and line.amount > 0 for line in lines]
    amounts: list[Decimal]
    if rule.kind == DiscountKind.PERCENT:
        percent = min(max(rule.value, ZERO), HUNDRED)
        amounts = [
            min(round_money(line.amount * percent / HUNDRED), line.amount) if hit else ZERO
            for line, hit in zip(lines, covered, strict=True)
        ]
    else:
        covered_amounts = [line.amount for line, hit in zip(lines, covered, strict=True) if hit]
        total = min(max(round_money(rule.value), ZERO), sum(covered_amounts, ZERO))
        shares = iter(_spread(total, covered_amounts))
        amounts = [next(shares) if hit else ZERO for hit in covered]
    return DiscountResult(
        rule=rule,
        lines=tuple(
            AppliedDiscount(
                amount=amount,
                discount_id=rule.discount_id if amount > 0 else None,
                name=rule.name if amount > 0 else "",
                kind=rule.kind,
                value=rule.value,
            )
            for amount in amounts
        ),
    )


def best_of(rules: Iterable[DiscountRule], lines: Sequence[OrderLine]) -> DiscountResult | None:
    """The rule that saves most on ``lines`` (ties: the smaller discount id); None when none
    saves anything. No query."""
    best: DiscountResult | None = None
    for rule in sorted(rules, key=lambda r: (r.discount_id is None, r.discount_id or 0)):
        result = apply(rule, lines)
        if result.total > 0 and (best is None or result.total > best.total):
            best = result
    return best


def best_discount(
    patient: Any, on: datetime.date, lines: Sequence[OrderLine]
) -> DiscountResult | None:
    """The one discount that saves ``patient`` most on ``lines`` on ``on``, or None (one
    query)."""
    if not lines:
        return None
    return best_of(applicable_discounts(patient, on), lines)


# --- Manual discounts ------------------------------------------------------------------


def manual_order_discount(
    lines: Sequence[OrderLine], *, kind: str, value: Decimal, name: str = ""
) -> DiscountResult:
    """The cashier's discount on the whole order, a percent or an amount, by the same rules.
    Raises ValueError for a percent outside (0, 100] or an amount not above zero."""
    _check_manual(kind, value)
    return apply(DiscountRule(discount_id=None, name=name, kind=kind, value=value), lines)


def manual_line_discount(
    line: OrderLine, *, kind: str, value: Decimal, name: str = ""
) -> AppliedDiscount:
    """The cashier's discount on one line (``percent_or_amount``)."""
    return manual_order_discount([line], kind=kind, value=value, name=name).lines[0]


def _check_manual(kind: str, value: Decimal) -> None:
    if kind not in DiscountKind.values:
        raise ValueError(f"Unknown discount kind {kind!r}")
    if not isinstance(value, Decimal):
        raise TypeError("A discount's value is a Decimal.")
    if value <= 0 or (kind == DiscountKind.PERCENT and value > HUNDRED):
        raise ValueError(f"A {kind} discount of {value} is out of range")
