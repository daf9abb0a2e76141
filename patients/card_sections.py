"""Whole sections of the patient card (its tabs) that apps above ``patients`` fill: the
clinical record's Diagnostics, later the plan and the payments; ``patients`` imports none.

An app registers a section in its ``registrations``. The section's tab loads it from the
app's URL (reversed with the patient's id) for users with the right; others see a notice
and the URL answers them 403. ``scripts`` and ``styles`` are static paths the tab includes.
"""

from dataclasses import dataclass

from django.urls import reverse

from clinic.permissions import has_module_perm


@dataclass(frozen=True)
class CardSection:
    key: str
    url_name: str
    right: tuple[str, str]
    scripts: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShownSection:
    section: CardSection
    url: str
    allowed: bool


_sections: dict[str, CardSection] = {}


def register(section: CardSection) -> None:
    _sections[section.key] = section


def shown(user, key: str, patient_id: int) -> ShownSection | None:
    """The section ``key`` of a patient's card, or None when no app fills it yet."""
    section = _sections.get(key)
    if section is None:
        return None
    return ShownSection(
        section,
        reverse(section.url_name, kwargs={"pk": patient_id}),
        has_module_perm(user, *section.right),
    )
