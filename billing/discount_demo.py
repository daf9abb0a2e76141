"""The demo's three discounts: 10 % on professional hygiene for everyone, 5 % on everything
for patients of 60 and over, 1,000 ₽ off the orthodontist's first consultation this season."""

import datetime
from decimal import Decimal

from django.utils import timezone

from billing.discount_services import discount_create
from billing.models import Discount, DiscountKind, DiscountRecipients, DiscountScope
from clinic.models import User
from pricelist.models import Service, ServiceCategory


def seed_discounts(log) -> None:
    if Discount.all_objects.exists():
        log("discounts: kept")
        return
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    if admin is None:
        log("discounts: no administrator to create them")
        return
    today = timezone.localdate()
    hygiene = ServiceCategory.objects.filter(name="Профессиональная гигиена").first()
    orthodontist = Service.objects.filter(code="B01.063.001").first()
    made = 0
    if hygiene is not None:
        discount_create(
            by=admin,
            data={
                "name": "Гигиена −10 %",
                "scope": DiscountScope.ONLY,
                "categories": [hygiene],
                "recipients": DiscountRecipients.ALL,
                "kind": DiscountKind.PERCENT,
                "value": Decimal("10"),
            },
        )
        made += 1
    discount_create(
        by=admin,
        data={
            "name": "Пенсионерам 60+ −5 %",
            "scope": DiscountScope.ORDER,
            "recipients": DiscountRecipients.AGE,
            "age_from": 60,
            "kind": DiscountKind.PERCENT,
            "value": Decimal("5"),
        },
    )
    made += 1
    if orthodontist is not None:
        discount_create(
            by=admin,
            data={
                "name": "Консультация ортодонта −1000 ₽",
                "scope": DiscountScope.ONLY,
                "services": [orthodontist],
                "recipients": DiscountRecipients.ALL,
                "valid_from": today.replace(day=1),
                "valid_to": today.replace(day=1) + datetime.timedelta(days=92),
                "kind": DiscountKind.AMOUNT,
                "value": Decimal("1000"),
            },
        )
        made += 1
    log(f"discounts: {made}")
