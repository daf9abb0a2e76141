"""Reads of the dental chart: one query for the records, whatever the patient's history."""

import datetime
from dataclasses import dataclass, field

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from clinic import teeth
from clinical.models import Diagnosis, ToothRecord


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
    def regions(self) -> list[tuple[str, str, bool]]:
        """(surface, SVG points, marked) of the tooth's drawing: the chewing surface in the
        middle, the cheek side outwards (up for the upper jaw), mesial towards the midline."""
        upper = self.jaw == teeth.Jaw.UPPER
        right_half = self.number // 10 in (1, 4, 5, 8)
        chewing = teeth.Surface.INCISAL if teeth.is_front(self.number) else teeth.Surface.OCCLUSAL
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
        shapes = [
            (top, "0,0 30,0 22,8 8,8"),
            (bottom, "0,30 30,30 22,22 8,22"),
            (left, "0,0 8,8 8,22 0,30"),
            (right, "30,0 22,8 22,22 30,30"),
            (chewing, "8,8 22,8 22,22 8,22"),
        ]
        return [(surface, points, surface in self.surfaces) for surface, points in shapes]

    @property
    def drawing(self) -> SafeString:
        """The tooth's SVG: its surfaces (marked ones filled), the cervical band, a cross
        when missing. Built here rather than in the template: a chart draws 32 to 52 teeth."""
        marked = " dental-surface-marked"
        polygons = format_html_join(
            "",
            '<polygon points="{}" class="dental-surface{}" data-surface="{}"/>',
            ((points, marked if on else "", surface) for surface, points, on in self.regions),
        )
        cervical = marked if teeth.Surface.CERVICAL in self.surfaces else ""
        cross = (
            '<line x1="-1" y1="-1" x2="31" y2="31" class="dental-cross"/>'
            '<line x1="31" y1="-1" x2="-1" y2="31" class="dental-cross"/>'
            if self.state == "missing"
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


def chart_records(patient_id: int, *, moment: datetime.datetime | None = None) -> list[ToothRecord]:
    """The records that stand now (``moment`` None) or stood at ``moment``, oldest first."""
    records = ToothRecord.objects.filter(patient_id=patient_id)
    records = records.current() if moment is None else records.as_of(moment)
    return list(records.select_related("diagnosis").order_by("tooth", "recorded_at", "pk"))


def teeth_on_chart(records: list[ToothRecord]) -> dict[int, ToothOnChart]:
    """Each tooth with a record: its records, the surfaces they name and the state drawn."""
    shown: dict[int, ToothOnChart] = {}
    for record in records:
        tooth = shown.setdefault(record.tooth, ToothOnChart(record.tooth))
        tooth.records.append(record)
        tooth.surfaces.update(record.surfaces)
        if record.state:
            tooth.state = record.state
            tooth.state_label = record.get_state_display()
    return shown


def diagnoses_by_tooth(records: list[ToothRecord]) -> list[tuple[int, list[ToothRecord]]]:
    """The teeth in FDI order with their records, for the list under the chart."""
    return [(number, tooth.records) for number, tooth in sorted(teeth_on_chart(records).items())]


def diagnosis_choices():
    """The active diagnoses for the picker, with just what their labels need."""
    return Diagnosis.objects.only("pk", "code", "name").order_by("code")
