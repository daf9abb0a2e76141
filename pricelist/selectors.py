"""Reads of the price list for its screens, and for the apps above it."""

import datetime

from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from pricelist.models import Price, PriceList, Service, ServiceDiagnosis


def _price_in(price_list: PriceList, on: datetime.date) -> Subquery:
    return Subquery(
        Price.objects.filter(price_list=price_list, service=OuterRef("pk"), effective_from__lte=on)
        .order_by("-effective_from")
        .values("amount")[:1],
        output_field=DecimalField(max_digits=12, decimal_places=2),
    )


def services_priced(
    price_list: PriceList,
    base: PriceList,
    *,
    on: datetime.date,
    query: str = "",
    category_id: int | None = None,
) -> QuerySet[Service]:
    """Live services with ``list_price`` (the chosen list's price on ``on``, None where it
    has none) and ``base_price``: one query, whatever the number of services."""
    # A service the history does not know yet is priced by ``Service.price`` (as in
    # ``pricelist.prices``).
    base_price = Coalesce(_price_in(base, on), F("price"))
    services = Service.objects.select_related("category", "profession").annotate(
        base_price=base_price,
        list_price=base_price if price_list.pk == base.pk else _price_in(price_list, on),
    )
    if query:
        services = services.filter(Q(code__icontains=query) | Q(name__icontains=query))
    if category_id is not None:
        services = services.filter(category_id=category_id)
    return services.order_by("category__position", "category__name", "position", "name", "pk")


def price_history(service: Service, lists: QuerySet[PriceList]) -> list[Price]:
    """The service's prices in ``lists`` (those the user sees), newest first per list."""
    return list(
        Price.objects.filter(service=service, price_list__in=lists)
        .select_related("price_list", "price_list__branch", "created_by")
        .order_by("price_list__kind", "price_list__name", "-effective_from")
    )


def lists_for(user) -> QuerySet[PriceList]:
    return PriceList.objects.for_user(user).select_related("branch").order_by("kind", "name")


def typical_codes(service_ids: list[int]) -> dict[int, list[str]]:
    """ICD-10 codes by service id, for the clinical record: it joins them to its
    diagnoses (``Diagnosis.objects.filter(code__in=...)``); a code it does not know is
    simply not matched."""
    codes: dict[int, list[str]] = {pk: [] for pk in service_ids}
    for service_id, code in ServiceDiagnosis.objects.filter(service_id__in=service_ids).values_list(
        "service_id", "code"
    ):
        codes[service_id].append(code)
    return codes


def services_for_codes(codes: list[str]) -> QuerySet[Service]:
    """Live services that typically treat any of ``codes`` (for a plan's suggestions)."""
    return Service.objects.filter(
        pk__in=ServiceDiagnosis.objects.filter(code__in=codes).values("service_id")
    )
