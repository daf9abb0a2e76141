"""Module settings: typed values that apps declare and the Settings page edits.

register(Preference("calendar.slot_step_minutes", "calendar", _("Slot step, minutes"),
                    lambda: forms.IntegerField(min_value=5, max_value=120), default=15))
step = preferences.get("calendar.slot_step_minutes")
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.cache import cache
from django.db import transaction

from clinic import audit
from clinic.audit import json_value

CACHE_KEY = "clinic:preferences:v1"


@dataclass(frozen=True)
class Preference:
    key: str
    module: str
    label: Any  # a lazy translation
    field: Callable[[], forms.Field]
    default: Any
    help_text: Any = ""

    def form_field(self) -> forms.Field:
        form_field = self.field()
        form_field.label = self.label
        form_field.help_text = self.help_text
        form_field.initial = self.default
        return form_field


_preferences: dict[str, Preference] = {}


def register(preference: Preference) -> Preference:
    _preferences[preference.key] = preference
    return preference


def declared() -> list[Preference]:
    return list(_preferences.values())


def _stored() -> dict[str, Any]:
    values = cache.get(CACHE_KEY)
    if values is None:
        from clinic.models import PreferenceValue

        values = dict(PreferenceValue.objects.values_list("key", "value"))
        cache.set(CACHE_KEY, values, 300)
    return values


def get(key: str) -> Any:
    preference = _preferences[key]
    return _stored().get(key, preference.default)


def values_for(module: str) -> dict[str, Any]:
    return {p.key: get(p.key) for p in _preferences.values() if p.module == module}


def preferences_set(*, values: dict[str, Any], by) -> None:
    """Save changed settings (a service: audited, cache refreshed after commit)."""
    from clinic.models import PreferenceValue

    with transaction.atomic():
        for key, value in values.items():
            if key not in _preferences:
                raise KeyError(key)
            new_value = json_value(value)
            old = get(key)
            if old == new_value:
                continue
            stored, _created = PreferenceValue.objects.update_or_create(
                key=key, defaults={"value": new_value, "updated_by": by}
            )
            audit.record(
                actor=by,
                action="update",
                obj=stored,
                object_repr=key,
                changes={key: [json_value(old), new_value]},
            )
        # Now, for reads later in this transaction; and after commit, in case another
        # request cached the old values meanwhile.
        cache.delete(CACHE_KEY)
        transaction.on_commit(lambda: cache.delete(CACHE_KEY))
