"""The audit log as people read it: names for ids, labels for codes, the model's wording
for field names and one time format in the branch's zone.

Only the presentation changes: entries are read, never written (their hashes cover the
stored values exactly). ``describe_entries`` resolves a page of entries with a bounded
number of queries: one per kind of object the page mentions, whatever the number of entries.
"""

import contextlib
import datetime
import re
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import ForeignObjectRel
from django.utils.translation import gettext, gettext_noop

from clinic import bounds
from clinic.models import AuditEntry, Branch

TIME_FORMAT = "%d.%m.%Y %H:%M"
DATE_FORMAT = "%d.%m.%Y"
EMPTY = "—"

# Columns the database or the code keeps by itself: they change with the fields people
# edit and tell the reader nothing. Generated and auto_now columns are hidden as well.
INTERNAL_FIELDS = frozenset(
    {"search_name", "search_phones", "updated_at", "returning_since", "password", "last_login"}
)

# Fields declared without a verbose_name get Django's "created by"; these msgids make
# them translatable (the model's wording stays the source of the label).
UNNAMED_FIELD_LABELS = (
    gettext_noop("created by"),
    gettext_noop("cancelled at"),
    gettext_noop("source"),
    gettext_noop("confirmed by"),
)

# What a model's __str__ reads through relations, so that naming many of them is one query.
STR_RELATIONS: dict[str, tuple[str, ...]] = {
    "clinic.user": ("employee",),
    "calendar_app.appointment": ("patient",),
    "calendar_app.workshift": ("doctor", "chair"),
    "calendar_app.waitinglistentry": ("patient",),
}

# A time in an object's title: ``Appointment.__str__`` formats its start as stored.
TITLE_TIME = re.compile(r"\b(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})\b")
ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ChangeRow:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class EntryDisplay:
    time: str
    title: str
    patient: str
    rows: list[ChangeRow]


def describe_entries(
    entries: Sequence[AuditEntry], *, default_zone: zoneinfo.ZoneInfo | None = None
) -> list[EntryDisplay]:
    """How each entry reads, in order. ``default_zone`` (the user's current branch) is used
    for an entry whose object has no branch; the entry's time is shown in it too."""
    default_zone = default_zone or zoneinfo.ZoneInfo(settings.TIME_ZONE)
    names = _Names()
    for entry in entries:
        model = _model_of(entry)
        names.want_patient(entry.patient_id)
        names.want_branch_of(model, entry.object_id)
        for name, values in entry.changes.items():
            field = _field(model, name)
            if _points_to_objects(field):
                for value in _pair(values):
                    names.want(field.related_model, value)
    names.resolve()
    return [_describe(entry, names, default_zone) for entry in entries]


def _describe(entry: AuditEntry, names: "_Names", default_zone: zoneinfo.ZoneInfo) -> EntryDisplay:
    model = _model_of(entry)
    zone = names.zone_of(model, entry.object_id) or default_zone
    rows = []
    for name, values in entry.changes.items():
        field = _field(model, name)
        if _is_internal(name, field):
            continue
        old, new = _pair(values)
        rows.append(
            ChangeRow(
                _label(model, name, field),
                _value(field, old, names, zone),
                _value(field, new, names, zone),
            )
        )
    about_the_patient = model is _patient_model() and entry.object_id == str(entry.patient_id)
    patient = names.patient(entry.patient_id) if entry.patient_id and not about_the_patient else ""
    return EntryDisplay(
        time=entry.created_at.astimezone(default_zone).strftime(TIME_FORMAT),
        title=_title(entry, zone),
        patient=patient,
        rows=rows,
    )


# --- Fields -----------------------------------------------------------------------------


def _model_of(entry: AuditEntry) -> type[models.Model] | None:
    return entry.content_type.model_class() if entry.content_type else None


def _field(model: type[models.Model] | None, name: str) -> Any:
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _points_to_objects(field: Any) -> bool:
    """A foreign key or many-to-many field: its stored values are ids."""
    return (
        field is not None
        and field.is_relation
        and field.related_model is not None
        and not isinstance(field, ForeignObjectRel)
    )


def _is_internal(name: str, field: Any) -> bool:
    if name in INTERNAL_FIELDS or isinstance(field, models.GeneratedField):
        return True
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def field_label(model: type[models.Model] | None, name: str) -> str:
    """The model's own wording for a field; a reverse relation (a patient's
    ``portal_account``) is named by the related model; anything else keeps its name."""
    return _label(model, name, _field(model, name))


def _label(model: type[models.Model] | None, name: str, field: Any) -> str:
    if field is None:
        return name
    if isinstance(field, ForeignObjectRel):
        return str(field.related_model._meta.verbose_name)
    return gettext(str(getattr(field, "verbose_name", None) or name))


def _pair(values: Any) -> tuple[Any, Any]:
    if isinstance(values, list):
        old, new = [*values, None, None][:2]
        return old, new
    return None, values


# --- Values -----------------------------------------------------------------------------


def _value(field: Any, value: Any, names: "_Names", zone: zoneinfo.ZoneInfo) -> str:
    if value is None or value == "" or value == []:
        return EMPTY
    if _points_to_objects(field):
        ids = value if isinstance(value, list) else [value]
        return ", ".join(names.name(field.related_model, item) for item in ids)
    if field is not None and getattr(field, "flatchoices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list):
        return ", ".join(_value(None, item, names, zone) for item in value)
    if isinstance(value, str):
        return _time_text(value, zone)
    return str(value)


def _time_text(text: str, zone: zoneinfo.ZoneInfo) -> str:
    """A stored ISO datetime in the branch's zone, a date as a date; other text as it is."""
    try:
        if ISO_DATETIME.fullmatch(text):
            return datetime.datetime.fromisoformat(text).astimezone(zone).strftime(TIME_FORMAT)
        if ISO_DATE.fullmatch(text):
            return datetime.date.fromisoformat(text).strftime(DATE_FORMAT)
    except ValueError:
        pass
    return text


def _title(entry: AuditEntry, zone: zoneinfo.ZoneInfo) -> str:
    """The stored title with its times in the branch's zone. ``str(obj)`` formatted the
    datetime it held: the one the entry records as the new ``start`` when it changed, else
    as the database returns it, in UTC."""
    start = entry.changes.get("start")
    offset: datetime.tzinfo = datetime.UTC
    if isinstance(start, list) and isinstance(start[-1], str):
        with contextlib.suppress(ValueError):
            offset = datetime.datetime.fromisoformat(start[-1]).tzinfo or datetime.UTC

    def local(match: re.Match[str]) -> str:
        try:
            year, month, day, hour, minute = map(int, match.groups())
            moment = datetime.datetime(year, month, day, hour, minute, tzinfo=offset)
            return moment.astimezone(zone).strftime(TIME_FORMAT)
        except (ValueError, OverflowError):
            return match.group(0)

    return TITLE_TIME.sub(local, entry.object_repr)


# --- Names, fetched in bulk --------------------------------------------------------------


class _Names:
    """Display names of the objects a page of entries mentions, and the zones of their
    branches: collected first, then one query per model."""

    def __init__(self) -> None:
        self._wanted: dict[type[models.Model], set[int]] = defaultdict(set)
        self._branch_of: dict[type[models.Model], set[int]] = defaultdict(set)
        self._names: dict[type[models.Model], dict[int, str]] = {}
        self._branches: dict[tuple[type[models.Model], int], int] = {}
        self._zones: dict[int, zoneinfo.ZoneInfo] = {}

    def want(self, model: type[models.Model], value: Any) -> None:
        for item in value if isinstance(value, list) else [value]:
            if (pk := bounds.parse_id(item)) is not None:
                self._wanted[model].add(pk)

    def want_patient(self, patient_id: int | None) -> None:
        if patient_id is not None:
            self.want(_patient_model(), patient_id)

    def want_branch_of(self, model: type[models.Model] | None, object_id: str) -> None:
        pk = bounds.parse_id(object_id)
        if model is not None and pk is not None and _branch_field(model):
            self._branch_of[model].add(pk)

    def resolve(self) -> None:
        for model, pks in self._wanted.items():
            rows = model._base_manager.filter(pk__in=pks).select_related(
                *STR_RELATIONS.get(model._meta.label_lower, ())
            )
            self._names[model] = {row.pk: str(row) for row in rows}
        branch_ids: set[int] = set()
        for model, pks in self._branch_of.items():
            if model is Branch:
                pairs: Iterable[tuple[int, int]] = ((pk, pk) for pk in pks)
            else:
                pairs = model._base_manager.filter(pk__in=pks).values_list("pk", "branch_id")
            for pk, branch_id in pairs:
                if branch_id is not None:
                    self._branches[(model, pk)] = branch_id
                    branch_ids.add(branch_id)
        for pk, time_zone in Branch._base_manager.filter(pk__in=branch_ids).values_list(
            "pk", "time_zone"
        ):
            with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):
                self._zones[pk] = zoneinfo.ZoneInfo(time_zone)

    def name(self, model: type[models.Model], value: Any) -> str:
        pk = bounds.parse_id(value)
        known = self._names.get(model, {}).get(pk) if pk is not None else None
        return known if known is not None else gettext("#%(id)s (deleted)") % {"id": value}

    def patient(self, patient_id: int) -> str:
        return self.name(_patient_model(), patient_id)

    def zone_of(self, model: type[models.Model] | None, object_id: str) -> zoneinfo.ZoneInfo | None:
        pk = bounds.parse_id(object_id)
        if model is None or pk is None:
            return None
        branch_id = self._branches.get((model, pk))
        return self._zones.get(branch_id) if branch_id is not None else None


def _branch_field(model: type[models.Model]) -> bool:
    if model is Branch:
        return True
    try:
        return model._meta.get_field("branch").is_relation
    except FieldDoesNotExist:
        return False


def _patient_model() -> type[models.Model]:
    return apps.get_model("patients", "Patient")
