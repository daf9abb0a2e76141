"""Loading the dental price list (``shared/data/dental_services_ru.csv`` format)."""

import csv
import datetime
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from clinic.models import Profession, ProfessionKind
from pricelist.models import (
    ConsumableMode,
    Price,
    Service,
    ServiceCategory,
    ServiceConsumable,
    ServiceDiagnosis,
)
from pricelist.prices import base_list

# The base list's history of a loaded service starts here (as in the 0002 data migration).
HISTORY_START = datetime.date(2000, 1, 1)


@transaction.atomic
def load_price_list(path: Path) -> tuple[int, int]:
    """Create or update categories and services from the CSV. Returns (categories, services).

    A service the base list does not price yet gets the CSV's price from ``HISTORY_START``;
    one without typical diagnoses or consumables gets the CSV's (``typical_icd10``:
    ``K02.1;K04.0``; ``consumables``: ``name unit:quantity;...``, the unit the name's last
    word, all "by quantity"). What the clinic has edited since is left as it is."""
    professions = {p.name.lower(): p for p in Profession.objects.filter(kind=ProfessionKind.DOCTOR)}
    categories: dict[str, ServiceCategory] = {}
    count = 0
    loaded: dict[int, tuple[Service, dict[str, str]]] = {}
    with path.open(encoding="utf-8") as handle:
        for position, row in enumerate(csv.DictReader(handle), start=1):
            name = row["category_ru"].strip()
            if name not in categories:
                categories[name], _created = ServiceCategory.objects.get_or_create(
                    name=name, defaults={"position": len(categories) + 1}
                )
            service, _created = Service.objects.update_or_create(
                code=row["code"].strip(),
                defaults={
                    "category": categories[name],
                    "name": row["name_ru"].strip(),
                    "duration_minutes": int(row["duration_min"]),
                    "price": Decimal(row["price_rub"]),
                    "per_tooth": row["per_tooth"].strip() == "yes",
                    "profession": professions.get(row["doctor_profession"].strip().lower()),
                    "position": position,
                },
            )
            count += 1
            loaded[service.pk] = (service, row)
    _load_details(loaded)
    return len(categories), count


def _load_details(loaded: dict[int, tuple[Service, dict[str, str]]]) -> None:
    base = base_list()
    priced = set(
        Price.objects.filter(price_list=base, service_id__in=loaded).values_list(
            "service_id", flat=True
        )
    )
    Price.objects.bulk_create(
        [
            Price(
                price_list=base, service=service, amount=service.price, effective_from=HISTORY_START
            )
            for pk, (service, _row) in loaded.items()
            if pk not in priced
        ]
    )
    with_codes = set(
        ServiceDiagnosis.objects.filter(service_id__in=loaded).values_list("service_id", flat=True)
    )
    ServiceDiagnosis.objects.bulk_create(
        [
            ServiceDiagnosis(service=service, code=code)
            for pk, (service, row) in loaded.items()
            if pk not in with_codes
            for code in dict.fromkeys(c.strip() for c in row.get("typical_icd10", "").split(";"))
            if code
        ]
    )
    with_materials = set(
        ServiceConsumable.objects.filter(service_id__in=loaded).values_list("service_id", flat=True)
    )
    ServiceConsumable.objects.bulk_create(
        [
            consumable
            for pk, (service, row) in loaded.items()
            if pk not in with_materials
            for consumable in _consumables(service, row.get("consumables", ""))
        ]
    )


def _consumables(service: Service, text: str) -> list[ServiceConsumable]:
    made = []
    for position, item in enumerate((i.strip() for i in text.split(";") if i.strip()), start=1):
        label, _sep, quantity = item.rpartition(":")
        material, _space, unit = label.strip().rpartition(" ")
        made.append(
            ServiceConsumable(
                service=service,
                material=material or unit,
                unit=unit if material else "",
                mode=ConsumableMode.BY_QUANTITY,
                value=Decimal(quantity),
                position=position,
            )
        )
    return made
