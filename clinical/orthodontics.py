"""The orthodontic card (form 043-1/u): the one list of its sections, which the forms, the
validation, the card's page and its print all read, and the writes of a card.

A patient may have several cards, numbered per patient. Each section is saved on its own
(an ``OrthodonticSection`` row, its values validated by the section's form). The diary and
the observation are lists of dated entries: a new entry is appended, never overwriting one.
Reset clears a section or the whole card; the old values stay in the audit log."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic import audit, events
from clinic.models import AuditAction, Employee
from clinic.services import object_soft_delete
from clinical import ortho_forms as f
from clinical.models import OrthodonticCard, OrthodonticCardStatus, OrthodonticSection
from patients.models import Patient

MAX_ENTRIES = 500


@dataclass(frozen=True)
class Section:
    key: str
    items: str  # the items of form 043-1/u the section covers, as the manual numbers them
    title: Promise
    form: type[f.SectionForm]
    entries: bool = False  # a list of dated entries, appended one at a time

    def rows(self, data: dict) -> list[tuple[str, str]]:
        return self.form.rows(data)

    def entry_rows(self, data: dict) -> list[dict]:
        """A list section's entries, oldest first, each with its rows but the date."""
        return [
            {
                "on": _day(entry.get("on", "")),
                "by": entry.get("by", ""),
                "rows": self.form.rows(entry, skip=("on",)),
            }
            for entry in data.get("entries", [])
        ]


def _day(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


SECTIONS: tuple[Section, ...] = (
    Section("title", "1-12", gettext_lazy("Title page"), f.TitlePageForm),
    Section("complaints", "13", gettext_lazy("Complaints"), f.ComplaintsForm),
    Section("anamnesis", "14", gettext_lazy("Anamnesis"), f.AnamnesisForm),
    Section("face", "15", gettext_lazy("Face examination. Cephalometry"), f.FaceForm),
    Section("oral", "16", gettext_lazy("Oral cavity examination"), f.OralCavityForm),
    Section("preliminary", "17", gettext_lazy("Preliminary diagnosis"), f.DiagnosisForm),
    Section("xray", "18", gettext_lazy("X-ray study"), f.XRayForm),
    Section("functional", "19", gettext_lazy("Clinical functional tests"), f.FunctionalTestsForm),
    Section("additional", "20", gettext_lazy("Additional methods"), f.AdditionalMethodsForm),
    Section("diagnosis", "21", gettext_lazy("Clinical diagnosis"), f.ClinicalDiagnosisForm),
    Section("plan", "22", gettext_lazy("Treatment plan"), f.TreatmentPlanForm),
    Section("consent", "23", gettext_lazy("Consent"), f.ConsentForm),
    Section("diary", "24", gettext_lazy("Orthodontist's diary"), f.DiaryEntryForm, entries=True),
    Section("observation", "25", gettext_lazy("Observation"), f.ObservationEntryForm, entries=True),
    Section("epicrisis", "26", gettext_lazy("Epicrisis"), f.EpicrisisForm),
)
BY_KEY = {section.key: section for section in SECTIONS}


def get(key: str) -> Section | None:
    return BY_KEY.get(key)


# --- reads -----------------------------------------------------------------------------


def cards_of(patient: Patient, query: str = "") -> list[OrthodonticCard]:
    """The patient's cards; with ``query``, those whose number, opening date (dd.mm.yyyy),
    doctor or any filled-in text holds it (case aside). Two queries: a patient has a few
    cards, so their sections are matched here, the same on both databases (SQLite keeps
    JSON with its Cyrillic escaped, out of reach of a LIKE)."""
    cards = list(OrthodonticCard.objects.filter(patient=patient).select_related("doctor"))
    needle = query.strip().casefold()
    if not needle or not cards:
        return cards
    texts = {card.pk: [str(card), card.opened_on.strftime("%d.%m.%Y")] for card in cards}
    for card in cards:
        if card.doctor:
            texts[card.pk].append(str(card.doctor))
    for card_id, data in OrthodonticSection.objects.filter(card__in=cards).values_list(
        "card_id", "data"
    ):
        texts[card_id].extend(_texts_in(data))
    return [card for card in cards if any(needle in text.casefold() for text in texts[card.pk])]


def _texts_in(value) -> list[str]:
    """Every string in a section's data (nested entries included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [text for item in value for text in _texts_in(item)]
    return []


def filled_sections(card: OrthodonticCard) -> dict[str, OrthodonticSection]:
    """The card's filled sections by key (one query)."""
    return {
        row.key: row
        for row in OrthodonticSection.objects.filter(card=card).exclude(data={})
        if row.key in BY_KEY
    }


def printed_sections(card: OrthodonticCard) -> list[dict]:
    """Every section in order, with its rows (or entries) for the card's print."""
    filled = filled_sections(card)
    printed = []
    for section in SECTIONS:
        data = filled[section.key].data if section.key in filled else {}
        printed.append(
            {
                "section": section,
                "rows": [] if section.entries else section.rows(data),
                "entries": section.entry_rows(data) if section.entries else [],
            }
        )
    return printed


# --- writes ----------------------------------------------------------------------------


def _user(by):
    return by if by is not None and by.is_authenticated else None


def _payload(card: OrthodonticCard, **extra) -> dict:
    return {"patient_id": card.patient_id, "card_id": card.pk, "number": card.number, **extra}


def _refuse_closed(card: OrthodonticCard) -> None:
    if card.status == OrthodonticCardStatus.CLOSED:
        raise ValidationError(_("This card is closed: open it again to change it."), code="closed")


@transaction.atomic
def card_create(
    *, patient: Patient, by, opened_on=None, doctor: Employee | None = None
) -> OrthodonticCard:
    # The patient's row is locked so that two cards opened at once get two numbers.
    Patient.objects.select_for_update(no_key=True).filter(pk=patient.pk).first()
    # Deleted cards keep their numbers (a restore brings a card back under its own).
    last = OrthodonticCard.all_objects.filter(patient=patient).aggregate(last=Max("number"))["last"]
    card = OrthodonticCard(
        patient=patient,
        number=(last or 0) + 1,
        opened_on=opened_on or timezone.localdate(),
        doctor=doctor,
        created_by=_user(by),
    )
    card.full_clean()
    card.save()
    audit.record_created(
        actor=by,
        obj=card,
        patient_id=patient.pk,
        fields=["number", "opened_on", "doctor", "status"],
    )
    events.publish("orthodontic_card.created", card, _payload(card), actor=by)
    return card


def _locked(card: OrthodonticCard) -> OrthodonticCard:
    return OrthodonticCard.objects.select_for_update(no_key=True).get(pk=card.pk)


def _section_row(card: OrthodonticCard, key: str) -> OrthodonticSection:
    row, _created = OrthodonticSection.objects.select_for_update(no_key=True).get_or_create(
        card=card, key=key
    )
    return row


def _validated(section: Section, values: dict) -> dict:
    form = section.form(data=values)
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())  # type: ignore[arg-type]
    return form.to_data()


@transaction.atomic
def section_save(
    *, card: OrthodonticCard, key: str, values: dict[str, Any], by
) -> OrthodonticSection:
    """Save a section's values (validated by its form); a list section appends one entry."""
    section = BY_KEY.get(key)
    if section is None:
        raise ValidationError(_("There is no such section in the card."), code="no_section")
    card = _locked(card)
    _refuse_closed(card)
    data = _validated(section, values)
    row = _section_row(card, key)
    before = row.data
    if section.entries:
        entries = list(row.data.get("entries", []))
        if len(entries) >= MAX_ENTRIES:
            raise ValidationError(
                _("This section already holds %(count)s entries.") % {"count": MAX_ENTRIES},
                code="too_many",
            )
        by_name = str(_user(by) or "")
        entries.append({**data, "by": by_name[:150], "at": timezone.now().isoformat()})
        row.data = {"entries": entries}
    else:
        row.data = data
    if row.data == before:
        return row
    row.updated_by = _user(by)
    row.save()
    OrthodonticCard.objects.filter(pk=card.pk).update(updated_at=timezone.now())
    changes = (
        {"entry": [None, row.data["entries"][-1]]}
        if section.entries
        else {
            name: [before.get(name), row.data.get(name)]
            for name in sorted({*before, *row.data})
            if before.get(name) != row.data.get(name)
        }
    )
    audit.record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=row,
        object_repr=f"{card} · {section.title}",
        changes=changes,
        patient_id=card.patient_id,
    )
    events.publish(
        "orthodontic_card.section_saved",
        card,
        _payload(card, section=key, entry=section.entries),
        actor=by,
    )
    return row


@transaction.atomic
def card_reset(*, card: OrthodonticCard, by, key: str | None = None) -> int:
    """Clear one section (``key``) or every section of the card; the audit entry keeps the
    values cleared. Returns how many sections held something."""
    if key is not None and key not in BY_KEY:
        raise ValidationError(_("There is no such section in the card."), code="no_section")
    card = _locked(card)
    _refuse_closed(card)
    rows = OrthodonticSection.objects.select_for_update(no_key=True).filter(card=card)
    if key is not None:
        rows = rows.filter(key=key)
    cleared = {row.key: row.data for row in rows if row.data}
    if cleared:
        OrthodonticSection.objects.filter(card=card, key__in=list(cleared)).update(
            data={}, updated_by=_user(by), updated_at=timezone.now()
        )
    audit.record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=card,
        changes={f"section:{name}": [data, None] for name, data in cleared.items()}
        or {"reset": [key or "all", None]},
        patient_id=card.patient_id,
    )
    events.publish(
        "orthodontic_card.reset",
        card,
        _payload(card, section=key or "", sections=sorted(cleared)),
        actor=by,
    )
    return len(cleared)


@transaction.atomic
def card_set_status(*, card: OrthodonticCard, status: str, by) -> OrthodonticCard:
    if status not in OrthodonticCardStatus.values:
        raise ValidationError(_("Unknown status of a card."), code="no_status")
    card = _locked(card)
    if card.status == status:
        return card
    before = audit.snapshot(card, ["status"])
    card.status = status
    card.save(update_fields=["status", "updated_at"])
    audit.record_changed(actor=by, obj=card, before=before, patient_id=card.patient_id)
    return card


@transaction.atomic
def card_delete(*, card: OrthodonticCard, by) -> None:
    """To the recycle bin, sections and all; restored from there under its own number."""
    object_soft_delete(obj=card, by=by, patient_id=card.patient_id)
