"""What the discounts plug into the core: their recycle bin section, the module setting,
the demo's discounts."""

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.discounts import AUTO_SELECT_DISCOUNT
from billing.models import Discount
from clinic import demo, preferences, trash

# --- Discounts -------------------------------------------------------------------------

trash.register(
    trash.TrashSection("discounts", _("Discounts"), Discount, "discounts", event_prefix="discount")
)

preferences.register(
    preferences.Preference(
        AUTO_SELECT_DISCOUNT,
        "discounts",
        _("Automatically choose the best discount"),
        lambda: forms.BooleanField(required=False),
        default=False,
        help_text=_(
            "When a service is added to an invoice or a treatment plan, the discount that "
            "saves the patient most is chosen by itself (it can still be changed)."
        ),
    )
)


def _seed_discounts(log) -> None:
    from billing.discount_demo import seed_discounts

    seed_discounts(log)


demo.register_seeder(40, "discounts", _seed_discounts)
