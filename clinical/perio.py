"""The periodontal chart: six sites a tooth, their bounds, the order the entry walks, the
computed attachment level, the comparison of two exams, and the writes (audited, published).

Conventions (also in docs/architecture.md):

- Permanent teeth only (11-48); a primary tooth or a number that is no tooth is refused.
- Sites per tooth, in stored order: distobuccal, buccal, mesiobuccal, distolingual, lingual,
  mesiolingual (indices 0-5; "lingual" is palatal on the upper jaw).
- Gingival margin (GM): the distance from the cemento-enamel junction to the margin,
  **positive for recession** (margin apical to the junction), negative for a margin coronal
  to it (swelling, overgrowth). So the clinical attachment level is CAL = PD + GM.
- Bounds: probing depth 0..15 mm, gingival margin -10..15 mm, mobility 0..3 (Miller),
  furcation 0..3 (Glickman/Hamp grade); bleeding, suppuration, plaque are yes/no per site.
- The entry walks: upper buccal 18→28, upper palatal 28→18, lower lingual 38→48, lower
  buccal 48→38 (the usual "snake"), skipping missing teeth; the probing depths first, then
  the gingival margins in the same order.
- Comparing: a site worsened when its PD or its CAL grew by 2 mm or more, or it bleeds now
  and did not.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic import audit, events, teeth
from clinic.models import AuditAction, ProfessionKind
from clinic.services import object_soft_delete
from clinical.models import PerioExam, ToothState
from patients.models import Patient

SITES = ("DB", "B", "MB", "DL", "L", "ML")
SITE_LABELS = {
    "DB": gettext_lazy("distobuccal"),
    "B": gettext_lazy("buccal"),
    "MB": gettext_lazy("mesiobuccal"),
    "DL": gettext_lazy("distolingual"),
    "L": gettext_lazy("lingual"),
    "ML": gettext_lazy("mesiolingual"),
}
BUCCAL, LINGUAL = (0, 1, 2), (3, 4, 5)
DEPTH = (0, 15)
MARGIN = (-10, 15)
MOBILITY = (0, 3)
FURCATION = (0, 3)
FLAGS = ("bop", "sup", "plaque")
WORSE_MM = 2

UPPER = [18, 17, 16, 15, 14, 13, 12, 11, 21, 22, 23, 24, 25, 26, 27, 28]
LOWER = [48, 47, 46, 45, 44, 43, 42, 41, 31, 32, 33, 34, 35, 36, 37, 38]
TEETH = frozenset(UPPER + LOWER)
FIELD = re.compile(r"^(pd|gm|bop|sup|plaque|mob|fur)-([0-9]{1,3})(?:-([0-9]))?$")


def screen_sites(tooth: int, side: tuple[int, ...]) -> tuple[int, ...]:
    """A side's three sites left to right as the chart shows the mouth: distal first on the
    patient's right (quadrants 1, 4, drawn on the left), mesial first on the left."""
    return side if tooth // 10 in (1, 4) else side[::-1]


def walk(missing: set[int] | frozenset[int] = frozenset()) -> list[tuple[int, int]]:
    """(tooth, site) in the order the keyboard entry walks them."""
    order: list[tuple[int, int]] = []
    legs = [
        (UPPER, BUCCAL, False),
        (UPPER, LINGUAL, True),
        (LOWER, LINGUAL, True),
        (LOWER, BUCCAL, False),
    ]
    for row, side, backwards in legs:
        for tooth in row[::-1] if backwards else row:
            if tooth in missing:
                continue
            sites = screen_sites(tooth, side)
            order.extend((tooth, site) for site in (sites[::-1] if backwards else sites))
    return order


def cal(depth: int | None, margin: int | None) -> int | None:
    """Clinical attachment level: probing depth plus the gingival margin (recession
    positive); unknown while the depth is."""
    if not isinstance(depth, int):
        return None
    return depth + (margin if isinstance(margin, int) else 0)


def _empty() -> dict:
    return {
        "pd": [None] * 6,
        "gm": [None] * 6,
        "bop": [False] * 6,
        "sup": [False] * 6,
        "plaque": [False] * 6,
        "mobility": None,
        "furcation": None,
    }


def _tooth_number(text: str) -> int:
    number = int(text)
    if number not in teeth.ALL_TEETH:
        raise ValidationError(
            _("There is no tooth %(tooth)s in the FDI numbering.") % {"tooth": number},
            code="no_such_tooth",
        )
    if number not in TEETH:
        raise ValidationError(
            _(
                "Tooth %(tooth)s is not in the permanent dentition: the periodontal chart "
                "is for permanent teeth."
            )
            % {"tooth": number},
            code="not_in_dentition",
        )
    return number


def _number(text: str, bounds: tuple[int, int], what: str, tooth: int) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not re.fullmatch(r"[+-]?[0-9]{1,3}", text):
        raise ValidationError(
            _("Tooth %(tooth)s: %(what)s must be a whole number of millimetres, not “%(value)s”.")
            % {"tooth": tooth, "what": what, "value": text[:10]},
            code="not_a_number",
        )
    value = int(text)
    low, high = bounds
    if not low <= value <= high:
        raise ValidationError(
            _("Tooth %(tooth)s: %(what)s %(value)s is out of range (%(low)s to %(high)s).")
            % {"tooth": tooth, "what": what, "value": value, "low": low, "high": high},
            code="out_of_range",
        )
    return value


def _what(kind: str) -> str:
    return {
        "pd": _("probing depth"),
        "gm": _("gingival margin"),
        "mob": _("mobility"),
        "fur": _("furcation"),
    }[kind]


GRID_MAX_NAMES = 2000


def grid_fields(text: str) -> MultiValueDict:
    """The entry grid as the page posts it: one JSON object (``grid``) of field names to a
    value or a list of values (a full mouth has more inputs than a form may post). Anything
    else is a ``ValidationError``; control characters are refused like anywhere else."""
    from clinic.bounds import InputRefused

    refused = ValidationError(
        _("The chart could not be read; reload the page and enter it again."), code="bad_grid"
    )
    try:
        values = json.loads(text or "{}")
    except ValueError:
        raise refused from None
    if not isinstance(values, dict) or len(values) > GRID_MAX_NAMES:
        raise refused
    fields: MultiValueDict = MultiValueDict()
    for name, value in values.items():
        items = value if isinstance(value, list) else [value]
        if len(name) > 20 or len(items) > 6 or not all(isinstance(i, str) for i in items):
            raise refused
        if any(len(i) > 24 for i in items):
            raise refused
        if any(ord(ch) < 32 or ord(ch) == 127 for i in [name, *items] for ch in i):
            raise InputRefused(_("The request contains control characters."))
        fields.setlist(name, items)
    return fields


def parse_grid(data: Mapping, getlist) -> tuple[dict[str, dict], list[int]]:
    """The measurements and the missing teeth of a posted entry grid.

    Fields: ``pd-16-0`` .. ``gm-16-5`` (a site's millimetres), ``bop-16`` / ``sup-16`` /
    ``plaque-16`` (the checked sites' indices), ``mob-16``, ``fur-16``, ``missing`` (tooth
    numbers). Anything else that looks like a measurement but names no tooth or site, or is
    out of range, is a ``ValidationError`` naming it. A missing tooth's values are dropped."""
    missing: set[int] = set()
    for value in getlist("missing"):
        if not (value.isascii() and value.isdigit() and len(value) <= 3):
            raise ValidationError(
                _("There is no tooth %(tooth)s in the FDI numbering.") % {"tooth": value[:10]},
                code="no_such_tooth",
            )
        missing.add(_tooth_number(value))
    grid: dict[int, dict] = {}
    for name in data:
        match = FIELD.match(name)
        if match is None:
            continue
        kind, tooth_text, site_text = match.groups()
        tooth = _tooth_number(tooth_text)
        per_site = kind in ("pd", "gm")
        if per_site != (site_text is not None) or (site_text is not None and int(site_text) > 5):
            raise ValidationError(_("Unknown field %(name)s.") % {"name": name}, code="bad_field")
        row = grid.setdefault(tooth, _empty())
        if kind in FLAGS:
            for value in getlist(name):
                if value not in ("0", "1", "2", "3", "4", "5"):
                    raise ValidationError(
                        _("Tooth %(tooth)s: unknown site “%(value)s”.")
                        % {"tooth": tooth, "value": value[:10]},
                        code="bad_site",
                    )
                row[kind][int(value)] = True
            continue
        text = data[name] if isinstance(data[name], str) else ""
        if kind == "pd":
            row["pd"][int(site_text)] = _number(text, DEPTH, _what(kind), tooth)
        elif kind == "gm":
            row["gm"][int(site_text)] = _number(text, MARGIN, _what(kind), tooth)
        elif kind == "mob":
            row["mobility"] = _number(text, MOBILITY, _what(kind), tooth)
        else:
            row["furcation"] = _number(text, FURCATION, _what(kind), tooth)
    measurements = {
        str(tooth): row
        for tooth, row in sorted(grid.items())
        if tooth not in missing and _has_data(row)
    }
    return measurements, sorted(missing)


def posted_as_typed(data: Mapping, getlist) -> tuple[dict[str, dict], list[int]]:
    """The grid as it was posted, bad values included (as short text), to show a refused
    entry again for correction rather than typed again."""
    grid: dict[str, dict] = {}
    for name in data:
        match = FIELD.match(name)
        if match is None:
            continue
        kind, tooth, site = match.groups()
        if not tooth.isascii() or int(tooth) not in TEETH:
            continue
        row = grid.setdefault(str(int(tooth)), _empty())
        text = str(data[name])[:4]
        if kind in ("pd", "gm") and site is not None and int(site) <= 5:
            row[kind][int(site)] = text.strip() or None
        elif kind in ("mob", "fur") and site is None:
            row["mobility" if kind == "mob" else "furcation"] = text.strip() or None
        elif kind in FLAGS:
            for value in getlist(name):
                if value in ("0", "1", "2", "3", "4", "5"):
                    row[kind][int(value)] = True
    missing = [
        int(t) for t in getlist("missing") if t.isascii() and t.isdigit() and int(t) in TEETH
    ]
    return grid, missing


def _has_data(row: dict) -> bool:
    return (
        any(v is not None for v in row["pd"] + row["gm"])
        or any(row[flag][i] for flag in FLAGS for i in range(6))
        or row["mobility"] is not None
        or row["furcation"] is not None
    )


def validate_measurements(measurements: dict, missing: list[int]) -> tuple[dict, list[int]]:
    """The same checks for measurements given as data (a service's caller, the demo)."""
    flat: dict[str, str] = {}
    lists: dict[str, list[str]] = {"missing": [str(t) for t in missing]}
    for key, row in measurements.items():
        tooth = str(key)
        for site in range(6):
            for kind in ("pd", "gm"):
                value = row.get(kind, [None] * 6)[site]
                flat[f"{kind}-{tooth}-{site}"] = "" if value is None else str(value)
        for flag in FLAGS:
            lists[f"{flag}-{tooth}"] = [str(i) for i, on in enumerate(row.get(flag, [])) if on]
            flat[f"{flag}-{tooth}"] = ""
        for kind, name in (("mob", "mobility"), ("fur", "furcation")):
            value = row.get(name)
            flat[f"{kind}-{tooth}"] = "" if value is None else str(value)
    return parse_grid(flat, lambda name: lists.get(name, []))


# --- Reads ------------------------------------------------------------------------------


def chart_missing_teeth(patient_id: int) -> list[int]:
    """The teeth the dental chart shows missing today: a new exam starts with them."""
    from clinical import selectors

    shown = selectors.teeth_on_chart(selectors.chart_records(patient_id))
    return sorted(n for n, t in shown.items() if t.state == ToothState.MISSING and n in TEETH)


@dataclass
class Site:
    index: int
    pd: int | None = None
    gm: int | None = None
    bop: bool = False
    sup: bool = False
    plaque: bool = False
    # Compared with an older exam:
    before_pd: int | None = None
    before_cal: int | None = None
    worse: bool = False
    new_bleeding: bool = False

    @property
    def cal(self) -> int | None:
        return cal(self.pd, self.gm)

    @property
    def label(self) -> str:
        return str(SITE_LABELS[SITES[self.index]])


@dataclass
class ToothRow:
    number: int
    missing: bool
    mobility: int | None = None
    furcation: int | None = None
    sites: list[Site] = field(default_factory=list)

    def side(self, indices: tuple[int, ...]) -> list[Site]:
        return [self.sites[i] for i in screen_sites(self.number, indices)]

    @property
    def buccal(self) -> list[Site]:
        return self.side(BUCCAL)

    @property
    def lingual(self) -> list[Site]:
        return self.side(LINGUAL)


def tooth_rows(measurements: dict, missing) -> dict[int, ToothRow]:
    gone = set(missing)
    rows = {}
    for number in UPPER + LOWER:
        data = measurements.get(str(number)) or _empty()
        rows[number] = ToothRow(
            number,
            number in gone,
            data.get("mobility"),
            data.get("furcation"),
            [
                Site(
                    i,
                    data["pd"][i],
                    data["gm"][i],
                    data["bop"][i],
                    data["sup"][i],
                    data["plaque"][i],
                )
                for i in range(6)
            ],
        )
    return rows


def jaws(rows: dict[int, ToothRow]) -> list[dict]:
    """The chart's two jaws, each its teeth left to right and its sides top to bottom (the
    cheek side outwards: buccal above the upper teeth, below the lower ones)."""

    flags = [
        ("bop", _("BOP"), _("Bleeding on probing")),
        ("sup", _("Suppuration"), _("Suppuration")),
        ("plaque", _("Plaque"), _("Plaque")),
    ]

    def side(teeth_row: list[ToothRow], key: str, label: str) -> dict:
        indices = BUCCAL if key == "buccal" else LINGUAL
        teeth_sites = [(row, row.side(indices)) for row in teeth_row]
        return {
            "key": key,
            "label": label,
            "teeth": teeth_sites,
            "flag_rows": [
                {
                    "flag": flag,
                    "label": flag_label,
                    "title": title,
                    "cells": [
                        (row, site, getattr(site, flag))
                        for row, sites in teeth_sites
                        for site in sites
                    ],
                }
                for flag, flag_label, title in flags
            ],
        }

    upper = [rows[n] for n in UPPER]
    lower = [rows[n] for n in LOWER]
    return [
        {
            "key": "upper",
            "label": _("Upper jaw"),
            "teeth": upper,
            "sides": [side(upper, "buccal", _("Buccal")), side(upper, "lingual", _("Palatal"))],
        },
        {
            "key": "lower",
            "label": _("Lower jaw"),
            "teeth": lower,
            "sides": [side(lower, "lingual", _("Lingual")), side(lower, "buccal", _("Buccal"))],
        },
    ]


def compare(older: PerioExam, newer: PerioExam) -> dict[int, ToothRow]:
    """The newer exam's rows, each site marked against the older one."""
    before = tooth_rows(older.measurements, older.missing)
    after = tooth_rows(newer.measurements, newer.missing)
    for number, row in after.items():
        if row.missing or before[number].missing:
            continue
        for site, old in zip(row.sites, before[number].sites, strict=True):
            site.before_pd, site.before_cal = old.pd, old.cal
            deeper = site.pd is not None and old.pd is not None and site.pd - old.pd >= WORSE_MM
            lost = site.cal is not None and old.cal is not None and site.cal - old.cal >= WORSE_MM
            site.worse = deeper or lost
            site.new_bleeding = site.bop and not old.bop
    return after


def summary(exam: PerioExam) -> dict:
    """Counts a doctor reads first: sites probed, mean depth, bleeding and plaque shares,
    sites 4-5 mm and 6 mm or deeper."""
    depths, bleeding, plaque, sites = [], 0, 0, 0
    for number, row in exam.measurements.items():
        if int(number) in exam.missing:
            continue
        for i in range(6):
            if row["pd"][i] is not None:
                sites += 1
                depths.append(row["pd"][i])
                bleeding += bool(row["bop"][i])
                plaque += bool(row["plaque"][i])
    return {
        "sites": sites,
        "mean_pd": round(sum(depths) / len(depths), 1) if depths else None,
        "bop_percent": round(100 * bleeding / sites) if sites else None,
        "plaque_percent": round(100 * plaque / sites) if sites else None,
        "pd_4_5": sum(1 for d in depths if 4 <= d <= 5),
        "pd_6": sum(1 for d in depths if d >= 6),
    }


# --- Writes -----------------------------------------------------------------------------

FIELDS = ("appointment", "doctor", "examined_on", "note", "measurements", "missing")


def _check(patient: Patient, data: dict) -> dict:
    doctor = data.get("doctor")
    if doctor is None or doctor.kind != ProfessionKind.DOCTOR:
        raise ValidationError(_("Choose a doctor."), code="no_doctor")
    appointment = data.get("appointment")
    if appointment is not None and appointment.patient_id != patient.pk:
        raise ValidationError(_("This visit is another patient's."), code="other_patient")
    measurements, missing = validate_measurements(
        data.get("measurements") or {}, data.get("missing") or []
    )
    return {**data, "measurements": measurements, "missing": missing}


def _payload(exam: PerioExam) -> dict:
    return {
        "patient_id": exam.patient_id,
        "id": exam.pk,
        "examined_on": exam.examined_on.isoformat(),
        "teeth": len(exam.measurements),
    }


def _user(by):
    return by if by is not None and by.is_authenticated else None


@transaction.atomic
def perio_exam_create(*, patient: Patient, data: dict, by) -> PerioExam:
    data = _check(patient, data)
    exam = PerioExam(patient=patient, created_by=_user(by), **data)
    exam.full_clean()
    exam.save()
    audit.record_created(actor=by, obj=exam, patient_id=patient.pk, fields=list(FIELDS))
    events.publish("perio_exam.created", exam, _payload(exam), actor=by)
    return exam


@transaction.atomic
def perio_exam_update(*, exam: PerioExam, data: dict, by) -> PerioExam:
    current = PerioExam.objects.select_for_update(no_key=True).get(pk=exam.pk)
    data = _check(current.patient, data)
    before = audit.snapshot(current, list(FIELDS))
    for name, value in data.items():
        setattr(current, name, value)
    current.full_clean()
    current.save()
    changes = audit.diff(before, audit.snapshot(current, list(FIELDS)))
    if changes:
        audit.record(
            actor=by,
            action=AuditAction.UPDATE,
            obj=current,
            changes=changes,
            patient_id=current.patient_id,
        )
        events.publish(
            "perio_exam.updated",
            current,
            {**_payload(current), "changed": sorted(changes)},
            actor=by,
        )
    return current


@transaction.atomic
def exam_delete(*, exam: PerioExam, by) -> None:
    """To the recycle bin (a mistaken or duplicate exam); restored from there whole."""
    object_soft_delete(obj=exam, by=by, patient_id=exam.patient_id)
