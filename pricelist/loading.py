"""Loading the dental price list (``shared/data/dental_services_ru.csv`` format)."""

import csv
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from clinic.models import Profession, ProfessionKind
from pricelist.models import Service, ServiceCategory


@transaction.atomic
def load_price_list(path: Path) -> tuple[int, int]:
    """Create or update categories and services from the CSV. Returns (categories, services)."""
    professions = {p.name.lower(): p for p in Profession.objects.filter(kind=ProfessionKind.DOCTOR)}
    categories: dict[str, ServiceCategory] = {}
    count = 0
    with path.open(encoding="utf-8") as handle:
        for position, row in enumerate(csv.DictReader(handle), start=1):
            name = row["category_ru"].strip()
            if name not in categories:
                categories[name], _created = ServiceCategory.objects.get_or_create(
                    name=name, defaults={"position": len(categories) + 1}
                )
            Service.objects.update_or_create(
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
    return len(categories), count
