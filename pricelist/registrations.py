from django.conf import settings
from django.utils.translation import gettext_lazy as _

from clinic import demo, references, trash
from pricelist.models import Service, ServiceCategory
from pricelist.services import refuse_category_with_services

trash.register(trash.TrashSection("services", _("Price list: services"), Service, "references"))
trash.register(
    trash.TrashSection(
        "service-categories",
        _("Price list: categories"),
        ServiceCategory,
        "references",
        on_delete=refuse_category_with_services,
    )
)

# The index's card leads to the price list's own screen; deactivating goes through that
# screen to the sections above, so the book itself neither adds nor deactivates.
references.register(
    references.ReferenceBook(
        "price-list",
        _("Price list"),
        Service,  # type: ignore[arg-type]
        description=_(
            "Categories and services, the base list and branches' own lists with the price "
            "history, consumables and typical diagnoses; Excel import and export."
        ),
        icon="tags",
        can_add=False,
        can_deactivate=False,
        search_fields=("name", "code"),
        screen="pricelist:services",
        item_screen="pricelist:service",
    )
)


def seed_branch_list():
    """The demo's second branch has its own list: every price 10% lower (to 10 roubles)."""
    import datetime
    from decimal import ROUND_HALF_UP, Decimal

    from clinic.models import Branch
    from pricelist.models import Price, PriceList, PriceListKind

    branch = Branch.objects.order_by("position", "pk")[1:2].first()
    if branch is None or PriceList.objects.filter(branch=branch).exists():
        return None
    branch_list = PriceList.objects.create(
        kind=PriceListKind.BRANCH, branch=branch, name=f"Прайс-лист: {branch.name}"
    )
    Price.objects.bulk_create(
        [
            Price(
                price_list=branch_list,
                service=service,
                amount=(service.price * Decimal("0.09")).quantize(Decimal("1"), ROUND_HALF_UP) * 10,
                effective_from=datetime.date(2000, 1, 1),
            )
            for service in Service.objects.all()
        ]
    )
    return branch_list


def _seed(log) -> None:
    from pathlib import Path

    from pricelist.loading import load_price_list

    path = Path(settings.BASE_DIR) / "pricelist" / "data" / "dental_services_ru.csv"
    categories, services = load_price_list(path)
    log(f"price list: {categories} categories, {services} services")
    branch_list = seed_branch_list()
    if branch_list is not None:
        log(f"price list: {branch_list.name}, the base prices less 10%")


demo.register_seeder(5, "price list", _seed)
