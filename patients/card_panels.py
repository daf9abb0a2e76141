"""Panels that apps above ``patients`` add to the patient card, without ``patients``
importing them: the calendar's visits, later the clinical record's and billing's summaries.

An app registers a panel in its ``AppConfig.ready()``. The card loads each panel the user has
the right to from the panel's own URL (reversed with the patient's id), and loads it again
when one of its ``refresh_on`` events reaches the page (an ``HX-Trigger`` of a dialog).
"""

from dataclasses import dataclass

from django.urls import reverse

from clinic.permissions import has_module_perm


@dataclass(frozen=True)
class CardPanel:
    key: str
    url_name: str
    right: tuple[str, str]
    refresh_on: tuple[str, ...] = ()
    # Panels show in this order, whatever the order the apps register them in.
    order: int = 100
    # "column": a card of its own in the card's right column; "stats": in the row of
    # figures under it (billing's balance, debt and deposit).
    placement: str = "column"


@dataclass(frozen=True)
class ShownPanel:
    key: str
    url: str
    trigger: str


_panels: dict[str, CardPanel] = {}


def register(panel: CardPanel) -> None:
    _panels[panel.key] = panel


def shown_to(user, patient_id: int, placement: str = "column") -> list[ShownPanel]:
    return [
        ShownPanel(
            panel.key,
            reverse(panel.url_name, kwargs={"pk": patient_id}),
            ", ".join(["load", *(f"{event} from:body" for event in panel.refresh_on)]),
        )
        for panel in sorted(_panels.values(), key=lambda p: p.order)
        if panel.placement == placement and has_module_perm(user, *panel.right)
    ]
