from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PricelistConfig(AppConfig):
    name = "pricelist"
    verbose_name = _("Price list")

    def ready(self) -> None:
        from pricelist import registrations  # noqa: F401
