"""Importing patients from another system's Excel or CSV export (django-import-export).

The job runs in two passes, both in the background with progress: a dry run that sorts the
rows into new, updated and invalid (with the reason per row), and, after the user confirms,
the import itself, both in chunks of ``CHUNK`` rows, each chunk in its own transaction with its
cards' audit entries and events and the job's progress, so that a stopped job resumes after
its last chunk. Patients are matched by phone, so running the same file twice updates
instead of duplicating. A row whose SNILS or INN is on another card, or on an earlier row of
the file, is invalid: one person, one card; the reason names the card, to be merged by hand.
"""

import datetime
import logging
import re
from collections.abc import Iterator
from typing import Any

import tablib
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from clinic import audit, events, files
from clinic.audit import snapshot
from clinic.models import AuditAction, Gender, MarketingChannel, NumberSequence, PatientGroup
from clinic.phones import normalize_phone
from clinic.validators import validate_oms_policy, validate_person_inn, validate_snils
from patients.models import ImportStatus, Patient, PatientImport
from patients.services import (
    CARD_SEQUENCE,
    SYNC_FIELDS,
    UNIQUE_DOCUMENTS,
    document_taken_message,
    patient_import_fail,
)

logger = logging.getLogger(__name__)

# Rows per transaction. Small enough that the audit chain's lock, held from a chunk's first
# audit entry to its commit, keeps other audited writes (opening a card) waiting well under a
# second; large enough that the per-chunk statements (the claim, the progress, the card
# numbers, the events) stay a rounding error per row. See bench/imports.py.
CHUNK = 250
PREVIEW_ROWS = 100
MAX_INVALID_SHOWN = 500

# Column headers we accept for each field (lower-cased, without punctuation).
HEADERS: dict[str, tuple[str, ...]] = {
    "last_name": ("фамилия", "last name", "surname", "lastname"),
    "first_name": ("имя", "first name", "name", "firstname"),
    "middle_name": ("отчество", "patronymic", "middle name"),
    "phone": ("телефон", "мобильный", "мобильный телефон", "phone", "mobile", "телефон мобильный"),
    "email": ("email", "e-mail", "почта", "электронная почта"),
    "birth_date": ("дата рождения", "др", "birth date", "date of birth", "birthday"),
    "gender": ("пол", "gender", "sex"),
    "home_phone": ("домашний телефон", "home phone"),
    "snils": ("снилс", "snils"),
    "inn": ("инн", "inn"),
    "oms_policy": ("полис омс", "омс", "oms policy"),
    "registration_address": ("адрес регистрации", "адрес прописки", "registration address"),
    "actual_address": ("адрес проживания", "адрес", "фактический адрес", "address"),
    "marketing_channel": (
        "канал",
        "источник",
        "маркетинговый канал",
        "marketing channel",
        "source",
    ),
    "patient_group": ("группа", "группа пациентов", "patient group"),
    "comment": ("комментарий", "примечание", "comment", "notes"),
}
REQUIRED = ("last_name", "first_name", "phone")
# The template the import page offers: our own column names, in this order.
TEMPLATE_HEADERS = [
    "Фамилия",
    "Имя",
    "Отчество",
    "Телефон",
    "Email",
    "Дата рождения",
    "Пол",
    "Домашний телефон",
    "СНИЛС",
    "ИНН",
    "Полис ОМС",
    "Адрес регистрации",
    "Адрес проживания",
    "Канал",
    "Группа",
    "Комментарий",
]


class ImportFileError(Exception):
    """The file as a whole cannot be imported (unreadable, wrong columns)."""


def _header_key(header: str) -> str:
    return re.sub(r"[^\w\s-]", "", str(header or "")).strip().lower().replace("ё", "е")


def map_headers(headers: list[str]) -> dict[str, str]:
    """{our field: the file's column}, by the synonyms above."""
    found: dict[str, str] = {}
    for header in headers:
        key = _header_key(header)
        for field, synonyms in HEADERS.items():
            if key in synonyms and field not in found:
                found[field] = header
    missing = [field for field in REQUIRED if field not in found]
    if missing:
        names = {"last_name": "Фамилия", "first_name": "Имя", "phone": "Телефон"}
        raise ImportFileError(
            _("The file has no column for: %(columns)s. Expected columns: %(expected)s.")
            % {
                "columns": ", ".join(names[m] for m in missing),
                "expected": ", ".join(TEMPLATE_HEADERS),
            }
        )
    return found


def load_dataset(file: File, name: str) -> tablib.Dataset:
    """Read the upload into a dataset with our field names as headers; empty rows dropped."""
    try:
        with file.open("rb") as handle:
            content = handle.read()
    except (FileNotFoundError, ValueError) as exc:
        raise ImportFileError(_("The uploaded file is no longer kept; upload it again.")) from exc
    try:
        if name.lower().endswith(".xlsx"):
            raw = tablib.Dataset().load(content, format="xlsx")
        else:
            text = _decode(content)
            delimiter = ";" if text[:2000].count(";") > text[:2000].count(",") else ","
            raw = tablib.Dataset().load(text, format="csv", delimiter=delimiter)
    except ImportFileError:
        raise
    except Exception as exc:
        raise ImportFileError(_("The file could not be read as Excel or CSV.")) from exc
    if not raw.headers:
        raise ImportFileError(_("The file has no header row."))
    mapping = map_headers([str(h) for h in raw.headers])
    columns = list(mapping)
    dataset = tablib.Dataset(headers=["row_number", *columns])
    for number, row in enumerate(raw.dict, start=2):
        values = [row.get(mapping[field]) for field in columns]
        if all(v in (None, "") or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        dataset.append([number, *values])
    if not len(dataset):
        raise ImportFileError(
            _("The file has no patient rows: every row below the header is empty.")
        )
    return dataset


def _decode(content: bytes) -> str:
    if b"\x00" in content[:4096]:
        raise ImportFileError(_("The file could not be read as Excel or CSV."))
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("The file's text encoding is neither UTF-8 nor Windows-1251."))


def _field_error(error: ValidationError) -> ValueError:
    """import-export files a ValueError under its field; Django's error would lose the field."""
    return ValueError(" ".join(str(message) for message in error.messages))


class PhoneWidget(widgets.CharWidget):
    def clean(self, value, row=None, **kwargs):
        text = super().clean(value, row, **kwargs)
        if isinstance(value, float | int):  # Excel turns 79123456789 into a number
            text = str(int(value))
        try:
            return normalize_phone(text) if text else ""
        except ValidationError as error:
            raise _field_error(error) from error


class FlexibleDateWidget(widgets.DateWidget):
    FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%y")

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        for fmt in self.FORMATS:
            try:
                day = datetime.datetime.strptime(str(value).strip(), fmt).date()  # noqa: DTZ007
            except ValueError:
                continue
            if day > timezone.localdate() or day.year < 1900:
                raise ValueError(_("Implausible date of birth: %(value)s") % {"value": value})
            return day
        raise ValueError(_("Not a date: %(value)s (use DD.MM.YYYY)") % {"value": value})


class ReferenceWidget(widgets.ForeignKeyWidget):
    """A reference-book entry by name, case-insensitively; unknown names are left empty.
    The book is read once per import, not once per row."""

    def clean(self, value, row=None, **kwargs):
        if not value or not str(value).strip():
            return None
        if not hasattr(self, "_by_name"):
            self._by_name = {item.name.lower(): item for item in self.model.objects.all()}
        return self._by_name.get(str(value).strip().lower())


class CheckedWidget(widgets.CharWidget):
    def __init__(self, check, **kwargs):
        super().__init__(**kwargs)
        self.check = check

    def clean(self, value, row=None, **kwargs):
        text = super().clean(value, row, **kwargs)
        if isinstance(value, float | int):
            text = str(int(value))
        try:
            return self.check(text) if text else ""
        except ValidationError as error:
            raise _field_error(error) from error


TEXT = widgets.CharWidget()


class PatientResource(resources.ModelResource):
    # CharWidget turns Excel's empty cells (None) into "": the text columns are NOT NULL.
    last_name = fields.Field(attribute="last_name", column_name="last_name", widget=TEXT)
    first_name = fields.Field(attribute="first_name", column_name="first_name", widget=TEXT)
    middle_name = fields.Field(attribute="middle_name", column_name="middle_name", widget=TEXT)
    phone = fields.Field(attribute="phone", column_name="phone", widget=PhoneWidget())
    email = fields.Field(attribute="email", column_name="email", widget=TEXT)
    birth_date = fields.Field(
        attribute="birth_date", column_name="birth_date", widget=FlexibleDateWidget()
    )
    gender = fields.Field(attribute="gender", column_name="gender", widget=ReferenceWidget(Gender))
    home_phone = fields.Field(
        attribute="home_phone", column_name="home_phone", widget=PhoneWidget()
    )
    snils = fields.Field(
        attribute="snils", column_name="snils", widget=CheckedWidget(validate_snils)
    )
    inn = fields.Field(
        attribute="inn", column_name="inn", widget=CheckedWidget(validate_person_inn)
    )
    oms_policy = fields.Field(
        attribute="oms_policy", column_name="oms_policy", widget=CheckedWidget(validate_oms_policy)
    )
    registration_address = fields.Field(
        attribute="registration_address", column_name="registration_address", widget=TEXT
    )
    actual_address = fields.Field(
        attribute="actual_address", column_name="actual_address", widget=TEXT
    )
    marketing_channel = fields.Field(
        attribute="marketing_channel",
        column_name="marketing_channel",
        widget=ReferenceWidget(MarketingChannel),
    )
    patient_group = fields.Field(
        attribute="patient_group", column_name="patient_group", widget=ReferenceWidget(PatientGroup)
    )
    comment = fields.Field(attribute="comment", column_name="comment", widget=TEXT)

    class Meta:
        model = Patient
        fields = tuple(HEADERS)
        import_id_fields: tuple[str, ...] = ()
        report_skipped = True
        clean_model_instances = False
        store_row_values = True
        store_instance = True
        # import-export's diff reads every field of every row (and follows foreign keys);
        # ``import_instance`` snapshots only what the file can change, for the same answer.
        skip_diff = True

    def __init__(self, *, known: "KnownCards", seen: "SeenInFile"):
        super().__init__()
        self.known = known
        self.seen = seen
        # (patient, changes) of every row saved in this chunk; ``None`` changes: created.
        self.saved: list[tuple[Patient, dict[str, list] | None]] = []
        # Card numbers of a chunk come from one locked read of the counter and one write
        # back (``finish_numbering``): updating the counter row per patient made a chunk of
        # a thousand new cards slow down quadratically.
        self._next_card: int | None = None

    def _take_card_number(self) -> int:
        if self._next_card is None:
            sequence, _created = NumberSequence.objects.select_for_update().get_or_create(
                key=CARD_SEQUENCE
            )
            self._next_card = sequence.value + 1
        number = self._next_card
        self._next_card += 1
        return number

    def finish_numbering(self) -> None:
        """Store the last number handed out (inside the chunk's transaction)."""
        if self._next_card is not None:
            NumberSequence.objects.filter(key=CARD_SEQUENCE).update(value=self._next_card - 1)

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        # For a card that already exists, an empty cell means "not known here": keep ours.
        if instance.pk and row.get(field.column_name) in (None, ""):
            return
        super().import_field(field, instance, row, is_m2m, **kwargs)

    def get_instance(self, instance_loader, row):
        return self.known.by_phone.get(_clean(PhoneWidget(), row.get("phone")))

    def import_instance(self, instance, row, **kwargs):
        before = _values(instance) if instance.pk else None
        number = row.get("row_number")
        # The file's own repeats are noted before the row's other cells are checked, so that
        # a resumed run can rebuild them from the rows before it without a database.
        first_rows = self.seen.note(row)
        super().import_instance(instance, row, **kwargs)
        after = _values(instance)
        instance._import_changes = (  # type: ignore[attr-defined]
            {name: [before[name], value] for name, value in after.items() if before[name] != value}
            if before is not None
            else None
        )
        if not instance.phone:
            raise ValidationError({"phone": _("A phone is required to match and create patients.")})
        if first_rows["phone"] not in (None, number):
            raise ValidationError(
                {
                    "phone": _("The same phone as row %(row)s of this file.")
                    % {"row": first_rows["phone"]}
                }
            )
        if not (instance.last_name or "").strip() or not (instance.first_name or "").strip():
            raise ValidationError({"last_name": _("Last and first name are required.")})
        errors = {}
        for name in UNIQUE_DOCUMENTS:
            value = getattr(instance, name)
            owner = self.known.by_document[name].get(value) if value else None
            if owner is not None:
                # The card that has the number may carry it; any other row may not.
                if owner.pk != instance.pk:
                    errors[name] = document_taken_message(name, owner)
            elif first_rows[name] not in (None, number):
                errors[name] = _("The same number as row %(row)s of this file.") % {
                    "row": first_rows[name]
                }
        if errors:
            raise ValidationError(errors)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        """An existing card the file does not change is reported as unchanged, not saved."""
        if import_validation_errors:
            return False
        changes = getattr(instance, "_import_changes", None)
        return changes is not None and not changes

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        try:
            instance.clean_fields(exclude=NOT_CLEANED)
        except ValidationError as error:
            errors.update(error.message_dict)
        if errors:
            raise ValidationError(errors)

    def save_instance(self, instance, is_create, row, **kwargs):
        if kwargs.get("dry_run") or kwargs.get("check_only"):
            return
        # A savepoint per row: a database error fails this row only, instead of silently
        # rolling back the whole chunk that was already counted as imported.
        with transaction.atomic():
            if is_create:
                instance.card_number = self._take_card_number()
                instance.last_activity_at = instance.created_at = timezone.now()
            super().save_instance(instance, is_create, row, **kwargs)
        self.saved.append((instance, None if is_create else instance._import_changes))


DOCUMENT_WIDGETS = {
    "snils": CheckedWidget(validate_snils),
    "inn": CheckedWidget(validate_person_inn),
}


def _clean(widget, value) -> str:
    """A cell as the widget stores it, or "" if it is empty or invalid."""
    try:
        return widget.clean(value) or ""
    except ValueError:
        return ""


class SeenInFile:
    """The first row of the file with each phone, SNILS and INN: a later row with the same
    value is refused (two rows cannot both be the card, nor two cards share a SNILS)."""

    def __init__(self) -> None:
        self.first_row: dict[str, dict[str, int]] = {"phone": {}, "snils": {}, "inn": {}}

    @classmethod
    def before(cls, dataset: tablib.Dataset, stop: int) -> "SeenInFile":
        seen = cls()
        for row in dataset.dict[:stop]:
            seen.note(row)
        return seen

    def note(self, row) -> dict[str, int | None]:
        number = row.get("row_number")
        found: dict[str, int | None] = {}
        for name, widget in (("phone", PhoneWidget()), *DOCUMENT_WIDGETS.items()):
            value = _clean(widget, row.get(name))
            found[name] = self.first_row[name].setdefault(value, number) if value else None
        return found


class KnownCards:
    """The live cards the file's phones, SNILS and INN point at, read once per run."""

    def __init__(self, dataset: tablib.Dataset):
        self.by_phone = self._read(dataset, "phone", PhoneWidget())
        self.by_document = {
            name: self._read(dataset, name, widget) for name, widget in DOCUMENT_WIDGETS.items()
        }

    @staticmethod
    def _read(dataset: tablib.Dataset, name: str, widget) -> dict[str, Patient]:
        if name not in dataset.headers:
            return {}
        values = sorted({_clean(widget, value) for value in dataset[name]} - {""})
        found: dict[str, Patient] = {}
        for start in range(0, len(values), 5000):
            # "Not empty" spelled out: the SNILS and INN indexes are partial (non-empty values).
            batch = Patient.objects.filter(**{f"{name}__in": values[start : start + 5000]}).exclude(
                **{name: ""}
            )
            for patient in batch.order_by("-id"):  # the oldest card wins a shared phone
                found[getattr(patient, name)] = patient
        return found


def _chunks(dataset: tablib.Dataset, start: int = 0) -> Iterator[tuple[int, tablib.Dataset]]:
    for offset in range(start, len(dataset), CHUNK):
        chunk = tablib.Dataset(headers=dataset.headers)
        for row in dataset[offset : offset + CHUNK]:
            chunk.append(row)
        yield offset, chunk


def _messages_of(row) -> str:
    from patients.timeline import field_label

    error = getattr(row, "validation_error", None)
    if error is not None:
        if not hasattr(error, "error_dict"):
            return " ".join(error.messages)
        return "; ".join(
            f"{field_label(name)}: {' '.join(map(str, messages))}"
            if name != "__all__"
            else " ".join(map(str, messages))
            for name, messages in error.message_dict.items()
        )
    return "; ".join(str(e.error) for e in getattr(row, "errors", []))


def _values(instance: Patient) -> dict[str, object]:
    """What an import may change on a card (foreign keys by id: no queries), as the audit
    log stores values."""
    return {
        name: audit.json_value(getattr(instance, f"{name}_id" if name in FOREIGN_KEYS else name))
        for name in HEADERS
    }


FOREIGN_KEYS = {"gender", "marketing_channel", "patient_group"}
# Django checks a foreign key by reading its row: a query per key of every existing card.
# The file's keys come from the reference books read once (``ReferenceWidget``), and the
# card's own keys were valid when saved; the database's constraints stand behind both.
NOT_CLEANED = [
    "card_number",
    "search_name",
    "search_phones",
    *(field.name for field in Patient._meta.concrete_fields if field.is_relation),
]
# What the audit entry of a new card lists (its non-empty values).
CREATED_FIELDS = ["card_number", *HEADERS]


class Tally:
    """The counts and the sample of rows the job page shows, carried from chunk to chunk
    (and from a stopped run to its resumption, through the job's row)."""

    def __init__(self, job: PatientImport | None = None):
        self.counts = {"new": 0, "update": 0, "invalid": 0, "skip": 0}
        self.preview: dict[str, list] = {"new": [], "update": [], "invalid": []}
        if job is not None:
            self.counts = {
                "new": job.new_count,
                "update": job.update_count,
                "invalid": job.invalid_count,
                "skip": job.skipped_count,
            }
            self.preview = {key: list(job.preview.get(key, [])) for key in self.preview}

    def add(self, result) -> None:
        from patients.timeline import field_label

        for row in result.rows:
            number = (row.row_values or {}).get("row_number")
            kind = row.import_type
            if kind in ("error", "invalid"):
                self.counts["invalid"] += 1
                if len(self.preview["invalid"]) < MAX_INVALID_SHOWN:
                    self.preview["invalid"].append({"row": number, "reason": _messages_of(row)})
            elif kind == "new":
                self.counts["new"] += 1
                if len(self.preview["new"]) < PREVIEW_ROWS:
                    self.preview["new"].append({"row": number, "name": row.object_repr})
            elif kind == "update":
                self.counts["update"] += 1
                if len(self.preview["update"]) < PREVIEW_ROWS:
                    changes = getattr(row.instance, "_import_changes", None) or {}
                    self.preview["update"].append(
                        {
                            "row": number,
                            "name": row.object_repr,
                            "changes": [str(field_label(name)) for name in changes],
                        }
                    )
            else:
                self.counts["skip"] += 1

    def fields(self) -> dict:
        return {
            "new_count": self.counts["new"],
            "update_count": self.counts["update"],
            "invalid_count": self.counts["invalid"],
            "skipped_count": self.counts["skip"],
            "preview": self.preview,
        }


def _progress(job: PatientImport, **values) -> None:
    PatientImport.objects.filter(pk=job.pk).update(**values)


def _claim(job: PatientImport, status: str, offset: int) -> bool:
    """Lock the job for a chunk: True if it is still ``status`` at ``offset``. A job that was
    cancelled or marked failed stops here, and of two runs of one job (a resumed job whose
    first worker was only slow) the second waits for the first's chunk, then stops."""
    return (
        PatientImport.objects.select_for_update(no_key=True)
        .filter(pk=job.pk, status=status, processed_rows=offset)
        .values_list("pk", flat=True)
        .first()
        is not None
    )


def run_import(job_id: int, *, dry_run: bool) -> None:
    """The validation pass (``dry_run``) or the import pass of a job, chunk by chunk.

    Each chunk commits in one transaction its cards, their audit entries and domain events,
    and the job's progress (``processed_rows``, counts, ``progress_at``); a run picks up
    after the last committed chunk, so a job that stopped (a worker killed, a restart)
    resumes without duplicating anyone.
    """
    running = ImportStatus.VALIDATING if dry_run else ImportStatus.IMPORTING
    job = PatientImport.objects.select_related("created_by", "confirmed_by").get(pk=job_id)
    if job.status != running:
        return
    _progress(job, progress_at=timezone.now())
    try:
        dataset = load_dataset(job.file, job.original_name)
    except ImportFileError as exc:
        patient_import_fail(job=job, error=str(exc))
        return
    start = min(job.processed_rows, len(dataset))
    known = KnownCards(dataset)
    seen = SeenInFile.before(dataset, start)
    tally = Tally(job if start else None)
    _progress(job, total_rows=len(dataset), progress_at=timezone.now())
    for offset, chunk in _chunks(dataset, start):
        with transaction.atomic():
            if not _claim(job, running, offset):
                return
            resource = PatientResource(known=known, seen=seen)
            # The check is import-export's dry run without its savepoint per row (two
            # queries a row, for rows nobody writes): ``check_only`` stops at saving.
            result = resource.import_data(
                chunk,
                dry_run=False,
                check_only=dry_run,
                raise_errors=False,
                collect_failed_rows=False,
                use_transactions=False,
            )
            if not dry_run:
                resource.finish_numbering()
                _record_chunk(job, resource.saved)
            tally.add(result)
            _progress(
                job,
                processed_rows=offset + len(chunk),
                progress_at=timezone.now(),
                **tally.fields(),
            )
    with transaction.atomic():
        if not _claim(job, running, len(dataset)):
            return
        if dry_run:
            _progress(job, status=ImportStatus.PREVIEW, progress_at=timezone.now())
            return
        audit.record(
            actor=job.actor,
            action=AuditAction.UPDATE,
            obj=job,
            object_repr=f"import {job.original_name}",
            changes={
                "status": [ImportStatus.IMPORTING, ImportStatus.DONE],
                "created": [None, tally.counts["new"]],
                "updated": [None, tally.counts["update"]],
            },
        )
        _progress(job, status=ImportStatus.DONE, finished_at=timezone.now())
        files.discard(job, "file")


def _record_chunk(job: PatientImport, saved: list[tuple[Patient, dict[str, list] | None]]) -> None:
    """The domain events of every card the chunk created or changed, then their audit
    entries with the values: in the chunk's transaction, after its rows and as late as
    possible, because the audit chain's lock, taken by the first entry, is held to the
    chunk's commit and every audited write in the clinic waits for it meanwhile."""
    actor = job.actor
    source = {"file": job.original_name, "job_id": job.pk}
    created: list[tuple[models.Model, dict[str, Any]]] = []
    updated: list[tuple[models.Model, dict[str, Any]]] = []
    for patient, changes in saved:
        if changes is None:
            payload = {"patient_id": patient.pk, **source, **snapshot(patient, SYNC_FIELDS)}
            created.append((patient, payload))
        else:
            payload = {"patient_id": patient.pk, **source, "changed": sorted(changes)}
            new_values = {name: pair[1] for name, pair in changes.items()}
            updated.append((patient, {**payload, "values": new_values}))
    if created:
        events.publish_many("patient.imported", created, actor=actor)
    if updated:
        events.publish_many("patient.import_updated", updated, actor=actor)
    for patient, changes in saved:
        if changes is None:
            audit.record_created(
                actor=actor, obj=patient, patient_id=patient.pk, fields=CREATED_FIELDS
            )
        else:
            audit.record(
                actor=actor,
                action=AuditAction.UPDATE,
                obj=patient,
                changes=changes,
                patient_id=patient.pk,
            )
