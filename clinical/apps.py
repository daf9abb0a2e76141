from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClinicalConfig(AppConfig):
    name = "clinical"
    verbose_name = _("Clinical record")

    def ready(self) -> None:
        from clinical import registrations  # noqa: F401
