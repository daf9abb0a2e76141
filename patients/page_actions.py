"""Buttons that apps above ``patients`` add to the patient card's actions menu and to the
patients list's header, without ``patients`` importing them (amoCRM's "Update app account
in CRM" on the card, "Sync app accounts" on the list).

An app registers an action in its ``registrations``. The page shows it to users with the
action's right for whom ``enabled()`` says the feature is on (asked only after the right,
so users without it cost no query). An action with ``confirm`` is a POST asking that
question first (the project's ``data-confirm``); one without opens its URL in the shared
dialog (``data-dialog-url``). The view behind the URL checks the right again.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise

from clinic.permissions import has_module_perm

CARD, LIST = "card", "list"


def _always() -> bool:
    return True


@dataclass(frozen=True)
class PatientAction:
    key: str
    label: Promise | str
    icon: str
    url_name: str  # reversed with the patient's id on the card, without arguments on the list
    right: tuple[str, str]
    place: str = CARD
    confirm: Promise | str = ""
    enabled: Callable[[], bool] = _always
    order: int = 100


@dataclass(frozen=True)
class ShownAction:
    key: str
    label: str
    icon: str
    url: str
    confirm: str


_actions: dict[str, PatientAction] = {}


def register(action: PatientAction) -> None:
    _actions[action.key] = action


def shown_to(user, place: str, patient_id: int | None = None) -> list[ShownAction]:
    shown = []
    for action in sorted(_actions.values(), key=lambda a: a.order):
        if action.place != place or not has_module_perm(user, *action.right):
            continue
        if not action.enabled():
            continue
        kwargs = {"pk": patient_id} if place == CARD else None
        shown.append(
            ShownAction(
                action.key,
                str(action.label),
                action.icon,
                reverse(action.url_name, kwargs=kwargs),
                str(action.confirm),
            )
        )
    return shown
