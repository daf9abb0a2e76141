"""Reads of the dental chart: one query for the records, whatever the patient's history."""

import datetime
import functools
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from clinic import teeth
from clinic.reversing import reverse_each
from clinical.models import Diagnosis, ToothRecord, ToothState


@dataclass
class ToothOnChart:
    number: int
    # The state drawn: that of the latest record that sets one.
    state: str = ""
    state_label: str = ""
    surfaces: set[str] = field(default_factory=set)
    records: list[ToothRecord] = field(default_factory=list)

    @property
    def jaw(self) -> str:
        return teeth.jaw_of(self.number)

    @property
    def codes(self) -> str:
        """The diagnoses' codes, for the tooth's tooltip."""
        return ", ".join(r.diagnosis.code for r in self.records if r.diagnosis_id)  # type: ignore[union-attr]

    @property
    def drawing(self) -> SafeString:
        """The tooth's SVG: its surfaces (marked ones filled), the cervical band, a cross
        when missing. Built here rather than in the template: a chart draws 32 to 52 teeth."""
        return tooth_drawing(self.number, frozenset(self.surfaces), self.state == "missing")


@functools.lru_cache(maxsize=4096)
def tooth_drawing(number: int, surfaces: frozenset[str], missing: bool) -> SafeString:
    """A tooth's SVG (see ``ToothOnChart.drawing``); most teeth on a chart have no finding,
    so the drawings repeat from chart to chart and are kept once made."""
    marked = " dental-surface-marked"
    polygons = format_html_join(
        "",
        '<polygon points="{}" class="dental-surface{}" data-surface="{}"/>',
        (
            (points, marked if surface in surfaces else "", surface)
            for surface, points in _regions(number)
        ),
    )
    cervical = marked if teeth.Surface.CERVICAL in surfaces else ""
    cross = (
        '<line x1="-1" y1="-1" x2="31" y2="31" class="dental-cross"/>'
        '<line x1="31" y1="-1" x2="-1" y2="31" class="dental-cross"/>'
        if missing
        else ""
    )
    return format_html(
        '<svg class="dental-drawing" viewBox="-2 -2 34 40" aria-hidden="true">{}'
        '<rect x="0" y="33" width="30" height="3" class="dental-surface{}" data-surface="C"/>'
        "{}</svg>",
        polygons,
        cervical,
        mark_safe(cross),  # noqa: S308  (constant markup)
    )


def _regions(number: int) -> list[tuple[str, str]]:
    """(surface, SVG points) of a tooth's drawing: the chewing surface in the middle, the
    cheek side outwards (up for the upper jaw), mesial towards the midline."""
    upper = teeth.jaw_of(number) == teeth.Jaw.UPPER
    right_half = number // 10 in (1, 4, 5, 8)
    chewing = teeth.Surface.INCISAL if teeth.is_front(number) else teeth.Surface.OCCLUSAL
    top, bottom = (
        (teeth.Surface.VESTIBULAR, teeth.Surface.LINGUAL)
        if upper
        else (teeth.Surface.LINGUAL, teeth.Surface.VESTIBULAR)
    )
    left, right = (
        (teeth.Surface.DISTAL, teeth.Surface.MESIAL)
        if right_half
        else (teeth.Surface.MESIAL, teeth.Surface.DISTAL)
    )
    return [
        (top, "0,0 30,0 22,8 8,8"),
        (bottom, "0,30 30,30 22,22 8,22"),
        (left, "0,0 8,8 8,22 0,30"),
        (right, "30,0 22,8 22,22 30,30"),
        (chewing, "8,8 22,8 22,22 8,22"),
    ]


def chart_records(patient_id: int, *, moment: datetime.datetime | None = None) -> list[ToothRecord]:
    """The records that stand now (``moment`` None) or stood at ``moment``, oldest first."""
    records = ToothRecord.objects.filter(patient_id=patient_id)
    records = records.current() if moment is None else records.as_of(moment)
    return list(records.select_related("diagnosis").order_by("tooth", "recorded_at", "pk"))


def state_labels() -> dict[str, str]:
    """The states' labels in the active language, read once for a chart
    (``get_state_display`` rebuilds its choices at every call)."""
    return {value: str(label) for value, label in ToothState.choices}


def teeth_on_chart(records: list[ToothRecord]) -> dict[int, ToothOnChart]:
    """Each tooth with a record: its records, the surfaces they name and the state drawn."""
    shown: dict[int, ToothOnChart] = {}
    labels = state_labels()
    for record in records:
        tooth = shown.setdefault(record.tooth, ToothOnChart(record.tooth))
        tooth.records.append(record)
        tooth.surfaces.update(record.surfaces)
        if record.state:
            tooth.state = record.state
            tooth.state_label = labels.get(record.state, record.state)
    return shown


@dataclass(frozen=True)
class ChartLine:
    """A row of the list under the chart, formatted here once: the template's tags and
    filters (the date in the zone, the state's label, the remove URL) cost some 100 µs a
    row, and a long history has dozens."""

    pk: int
    code: str
    name: str
    state: str
    state_label: str
    surfaces: str
    recorded: str  # dd.mm.yyyy in the time zone shown
    remove_url: str


def diagnoses_by_tooth(
    shown: dict[int, ToothOnChart], zone: datetime.tzinfo
) -> list[tuple[int, list[ChartLine]]]:
    """The teeth in FDI order with their records, for the list under the chart."""
    labels = state_labels()
    remove_url = reverse_each("clinical:record-remove")
    return [
        (
            number,
            [
                ChartLine(
                    pk=record.pk,
                    code=record.diagnosis.code if record.diagnosis else "",
                    name=record.diagnosis.name if record.diagnosis else "",
                    state=record.state,
                    state_label=labels.get(record.state, record.state),
                    surfaces=record.surfaces,
                    recorded=record.recorded_at.astimezone(zone).strftime("%d.%m.%Y"),
                    remove_url=remove_url(record.pk),
                )
                for record in tooth.records
            ],
        )
        for number, tooth in sorted(shown.items())
    ]


def diagnosis_choices():
    """The active diagnoses for the picker, with just what their labels need."""
    return Diagnosis.objects.only("pk", "code", "name").order_by("code")


DIAGNOSIS_OPTIONS_VERSION_KEY = "clinical:diagnosis-options-version"
# This process's copy, replaced whole: (version, (rows, written)).
_diagnosis_options: list[tuple[str | None, tuple[list[tuple[int, SafeString]], str]]] = []


def diagnosis_options() -> tuple[list[tuple[int, SafeString]], str]:
    """The pickers' options: (id, "code name") of the active diagnoses by code, and the
    same written out as ``<option>``s, none chosen.

    Kept in each process, under a version kept in the cache: a render reads only the version
    (a few bytes), and the rows again when a diagnosis was saved or deleted
    (``forget_diagnosis_options`` drops the version, and every process reads them again).
    The chart and the plan re-render their picker of some four hundred codes with every
    change: read as models, then as a cached blob, they were a fifth, then a sixth, of the
    chart tab's time.
    """
    version = cache.get(DIAGNOSIS_OPTIONS_VERSION_KEY)
    if version is None:
        cache.add(DIAGNOSIS_OPTIONS_VERSION_KEY, uuid.uuid4().hex, None)
        version = cache.get(DIAGNOSIS_OPTIONS_VERSION_KEY)
    kept = _diagnosis_options[0] if _diagnosis_options else None
    if version is None or kept is None or kept[0] != version:
        rows = [  # escaped once here, not at every rendering
            (pk, conditional_escape(f"{code} {name}"))
            for pk, code, name in diagnosis_choices().values_list("pk", "code", "name")
        ]
        written = "".join(f'<option value="{pk}">{label}</option>' for pk, label in rows)
        kept = (version, (rows, written))
        _diagnosis_options[:] = [kept]
    return kept[1]


def forget_diagnosis_options(**_kwargs: Any) -> None:
    cache.delete(DIAGNOSIS_OPTIONS_VERSION_KEY)
