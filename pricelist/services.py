"""Writes to the price list: categories, services, price lists and their price history,
consumables and typical diagnoses. Each is one transaction with its audit entries.

The price rule (``price_set``): a new price takes effect today or later. What was in effect
before today is history (visits were booked and invoices issued at it; they keep their own
copies, but the history must still say what the list said then), so it is never rewritten.
An entry that has not come into effect yet, or takes effect today, may be replaced by
entering a price for the same day.

``Service.price`` stays: it is the base list's price in effect today, copied on each change
of the base list and caught up nightly with prices entered for a later day, for the readers
that only want "the price" (the demo and scale generators, the benchmarks, the booking
dialog's hint). Pricing a visit, a plan line or an invoice goes through
``pricelist.prices``, never through it.
"""

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import audit, events
from clinic.models import Branch, User
from clinic.writes import save_changes, save_new
from pricelist.models import (
    ConsumableMode,
    Price,
    PriceList,
    PriceListKind,
    Service,
    ServiceCategory,
    ServiceConsumable,
    ServiceDiagnosis,
    validate_icd10_code,
)
from pricelist.prices import base_list

# --- Categories ------------------------------------------------------------------------


@transaction.atomic
def category_create(*, name: str, by: User) -> ServiceCategory:
    position = ServiceCategory.objects.aggregate(m=Max("position"))["m"] or 0
    return save_new(ServiceCategory(name=name, position=position + 1), by=by)


@transaction.atomic
def category_rename(*, category: ServiceCategory, name: str, by: User) -> ServiceCategory:
    category, _changes = save_changes(category, by=by, data={"name": name})
    return category


@transaction.atomic
def category_reorder(*, ids: list[int], by: User) -> None:
    """The categories in ``ids``' order; every live category must be named once."""
    categories = {c.pk: c for c in ServiceCategory.objects.select_for_update(no_key=True)}
    if sorted(ids) != sorted(categories):
        raise ValidationError(_("The list of categories has changed; reload the page."))
    changed = []
    for position, pk in enumerate(ids, start=1):
        category = categories[pk]
        if category.position != position:
            category.position = position
            changed.append(category)
    ServiceCategory.objects.bulk_update(changed, ["position"])
    if changed:
        audit.record(actor=by, action="update", obj=changed[0], changes={"order": [None, ids]})


def refuse_category_with_services(category: ServiceCategory) -> None:
    """The recycle bin's hook: a category goes only once its services have gone."""
    if Service.objects.filter(category=category).exists():
        raise ValidationError(
            _("%(category)s still has services: move or deactivate them first.")
            % {"category": category.name},
            code="has_services",
        )


# --- Services --------------------------------------------------------------------------

SERVICE_FIELDS = ("category", "code", "name", "duration_minutes", "per_tooth", "profession")


def _check_code_free(code: str, *, but: Service | None = None) -> None:
    taken = Service.objects.filter(code=code)
    if but is not None:
        taken = taken.exclude(pk=but.pk)
    if taken.exists():
        raise ValidationError(
            {"code": _("The code %(code)s is taken by another service.") % {"code": code}}
        )


@transaction.atomic
def service_create(
    *,
    data: dict[str, Any],
    price: Decimal,
    by: User,
    effective_from: datetime.date | None = None,
) -> Service:
    """A new service with its base price (in effect from ``effective_from``, today by
    default; a service is new, so there is no history to protect)."""
    _check_code_free(data["code"])
    position = Service.objects.filter(category=data["category"]).aggregate(m=Max("position"))
    service = save_new(
        Service(**data, price=price, position=(position["m"] or 0) + 1),
        by=by,
        event="service.created",
    )
    _add_price(
        price_list=base_list(),
        service=service,
        amount=price,
        effective_from=effective_from or timezone.localdate(),
        by=by,
    )
    return service


@transaction.atomic
def service_update(*, service: Service, data: dict[str, Any], by: User) -> Service:
    if "code" in data:
        _check_code_free(data["code"], but=service)
    service, _changes = save_changes(service, by=by, data=data, event="service.changed")
    return service


# --- Price lists and prices ------------------------------------------------------------


@transaction.atomic
def price_list_create(*, branch: Branch, name: str, by: User) -> PriceList:
    if PriceList.objects.filter(kind=PriceListKind.BRANCH, branch=branch).exists():
        raise ValidationError(
            {"branch": _("%(branch)s has its own price list already.") % {"branch": branch}}
        )
    return save_new(PriceList(kind=PriceListKind.BRANCH, branch=branch, name=name), by=by)


@transaction.atomic
def price_list_update(*, price_list: PriceList, data: dict[str, Any], by: User) -> PriceList:
    if price_list.is_base and data.get("active") is False:
        raise ValidationError({"active": _("The base price list stays active.")})
    price_list, _changes = save_changes(price_list, by=by, data=data)
    return price_list


def check_effective_from(day: datetime.date) -> None:
    today = timezone.localdate()
    if day < today:
        raise ValidationError(
            {
                "effective_from": _(
                    "A new price takes effect today or later: earlier prices are history "
                    "(visits and invoices were priced from them)."
                )
            },
            code="past",
        )


def _add_price(
    *,
    price_list: PriceList,
    service: Service,
    amount: Decimal,
    effective_from: datetime.date,
    by: User,
) -> tuple[Price, Decimal | None]:
    """Insert or replace the entry of that day; returns it and the amount it replaced."""
    if amount < 0:
        raise ValidationError({"amount": _("A price cannot be negative.")})
    existing = (
        Price.objects.select_for_update(no_key=True)
        .filter(price_list=price_list, service=service, effective_from=effective_from)
        .first()
    )
    if existing is not None:
        old = existing.amount
        if old != amount:
            existing.amount = amount
            existing.save(update_fields=["amount"])
            audit.record(
                actor=by, action="update", obj=existing, changes={"amount": [str(old), str(amount)]}
            )
        return existing, old
    price = Price(
        price_list=price_list,
        service=service,
        amount=amount,
        effective_from=effective_from,
        created_by=by,
    )
    price.full_clean()
    price.save()
    audit.record_created(
        actor=by, obj=price, fields=["price_list", "service", "amount", "effective_from"]
    )
    return price, None


def _base_price_today(service) -> QuerySet[Price, Any]:
    """The amount of ``service``'s base-list price in effect today (a model or an
    ``OuterRef``)."""
    return (
        Price.objects.filter(
            price_list__kind=PriceListKind.BASE,
            service=service,
            effective_from__lte=timezone.localdate(),
        )
        .order_by("-effective_from")
        .values("amount")[:1]
    )


def _sync_current_base_price(service: Service) -> None:
    """``Service.price`` follows the base list's price in effect today."""
    current = _base_price_today(service).values_list("amount", flat=True).first()
    if current is not None and current != service.price:
        Service.all_objects.filter(pk=service.pk).update(price=current)
        service.price = current


def base_prices_caught_up() -> int:
    """``Service.price`` set to the base list's price in effect today wherever a price
    entered for a later day has come into effect since (nightly, ``pricelist.tasks``).
    Returns how many services changed; one statement, whatever the size of the list."""
    current = Subquery(_base_price_today(OuterRef("pk")))
    stale = (
        Service.all_objects.annotate(current=current)
        .filter(current__isnull=False)
        .exclude(price=F("current"))
        .values("pk")
    )
    return Service.all_objects.filter(pk__in=stale).update(price=current)


@transaction.atomic
def price_set(
    *,
    price_list: PriceList,
    service: Service,
    amount: Decimal,
    effective_from: datetime.date,
    by: User,
) -> Price:
    """A price of ``service`` in ``price_list`` from ``effective_from`` on (see the rule in
    this module's docstring)."""
    check_effective_from(effective_from)
    price, old = _add_price(
        price_list=price_list,
        service=service,
        amount=amount,
        effective_from=effective_from,
        by=by,
    )
    if price_list.is_base:
        _sync_current_base_price(service)
    events.publish(
        "service.price_set",
        price,
        {
            "service_id": service.pk,
            "price_list_id": price_list.pk,
            "branch_id": price_list.branch_id,
            "amount": str(amount),
            "replaced": None if old is None else str(old),
            "effective_from": effective_from.isoformat(),
        },
        actor=by,
    )
    return price


# --- Consumables and typical diagnoses -------------------------------------------------


def _consumable_text(row: ServiceConsumable) -> str:
    unit = f" {row.unit}" if row.unit else ""
    mode = "₽" if row.mode == ConsumableMode.BY_PRICE else unit
    return f"{row.material}: {row.value.normalize()}{mode}"


@transaction.atomic
def service_consumables_set(*, service: Service, rows: list[dict[str, Any]], by: User) -> None:
    """The service's consumables become ``rows`` (material, unit, mode, value), in order."""
    before = [_consumable_text(row) for row in service.consumables.all()]
    made = [
        ServiceConsumable(service=service, position=position, **row)
        for position, row in enumerate(rows, start=1)
    ]
    for row in made:
        row.full_clean(exclude=["service"])
    service.consumables.all().delete()
    ServiceConsumable.objects.bulk_create(made)
    after = [_consumable_text(row) for row in made]
    if before != after:
        audit.record(
            actor=by, action="update", obj=service, changes={"consumables": [before, after]}
        )


def clean_codes(codes: Iterable[str]) -> list[str]:
    """ICD-10 codes upper-cased, checked, without repeats, in order."""
    cleaned: list[str] = []
    errors: list[ValidationError] = []
    for raw in codes:
        code = raw.strip().upper()
        if not code or code in cleaned:
            continue
        try:
            validate_icd10_code(code)
        except ValidationError as error:
            errors.append(error)
            continue
        cleaned.append(code)
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def service_diagnoses_set(*, service: Service, codes: Iterable[str], by: User) -> None:
    wanted = clean_codes(codes)
    before = sorted(service.typical_diagnoses.values_list("code", flat=True))
    if before == sorted(wanted):
        return
    service.typical_diagnoses.exclude(code__in=wanted).delete()
    ServiceDiagnosis.objects.bulk_create(
        [ServiceDiagnosis(service=service, code=code) for code in wanted if code not in before]
    )
    audit.record(
        actor=by, action="update", obj=service, changes={"typical_icd10": [before, sorted(wanted)]}
    )
