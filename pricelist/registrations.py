from django.conf import settings
from django.utils.translation import gettext_lazy as _

from clinic import demo, trash
from pricelist.models import Service, ServiceCategory

trash.register(trash.TrashSection("services", _("Price list: services"), Service, "references"))
trash.register(
    trash.TrashSection(
        "service-categories", _("Price list: categories"), ServiceCategory, "references"
    )
)


def _seed(log) -> None:
    from pathlib import Path

    from pricelist.loading import load_price_list

    path = Path(settings.BASE_DIR) / "pricelist" / "data" / "dental_services_ru.csv"
    categories, services = load_price_list(path)
    log(f"price list: {categories} categories, {services} services")


demo.register_seeder(5, "price list", _seed)
