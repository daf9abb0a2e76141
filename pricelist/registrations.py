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
        Service,  # type: ignore[arg-type]  (a book with its own screen: only counted)
        description=_(
            "Categories and services, the base list and branches' own lists with the price "
            "history, consumables and typical diagnoses; Excel import and export."
        ),
        icon="tags",
        can_add=False,
        can_deactivate=False,
        search_fields=("name", "code"),
        screen="pricelist:services",
    )
)


def _seed(log) -> None:
    from pathlib import Path

    from pricelist.loading import load_price_list

    path = Path(settings.BASE_DIR) / "pricelist" / "data" / "dental_services_ru.csv"
    categories, services = load_price_list(path)
    log(f"price list: {categories} categories, {services} services")


demo.register_seeder(5, "price list", _seed)
