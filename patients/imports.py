"""Importing patients from another system's Excel or CSV export (django-import-export).

The job runs in two passes, both in the background with progress: a dry run that sorts the
rows into new, updated and invalid (with the reason per row), and, after the user confirms,
the import itself in chunks of ``CHUNK`` rows, each chunk in its own transaction. Patients
are matched by phone, so running the same file twice updates instead of duplicating.
"""

import datetime
import logging
import re
from collections.abc import Iterator

import tablib
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from clinic import audit, events
from clinic.models import Gender, MarketingChannel, NumberSequence, PatientGroup
from clinic.phones import normalize_phone
from clinic.validators import validate_oms_policy, validate_person_inn, validate_snils
from patients.models import ImportStatus, Patient, PatientImport
from patients.services import CARD_SEQUENCE

logger = logging.getLogger(__name__)

CHUNK = 1000
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


def load_dataset(path: str, name: str) -> tablib.Dataset:
    """Read the upload into a dataset with our field names as headers; empty rows dropped."""
    try:
        if name.lower().endswith(".xlsx"):
            with open(path, "rb") as handle:
                raw = tablib.Dataset().load(handle.read(), format="xlsx")
        else:
            with open(path, "rb") as handle:
                content = handle.read()
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

    def __init__(self, *, existing: dict[str, Patient], seen_phones: dict[str, int]):
        super().__init__()
        self.existing = existing
        self.seen_phones = seen_phones
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
        try:
            phone = PhoneWidget().clean(row.get("phone"))
        except ValueError:
            return None
        return self.existing.get(phone)

    def import_instance(self, instance, row, **kwargs):
        before = _values(instance) if instance.pk else None
        super().import_instance(instance, row, **kwargs)
        instance._import_changes = (  # type: ignore[attr-defined]
            [name for name, value in _values(instance).items() if before[name] != value]
            if before is not None
            else None
        )
        number = row.get("row_number")
        if not instance.phone:
            raise ValidationError({"phone": _("A phone is required to match and create patients.")})
        first_row = self.seen_phones.setdefault(instance.phone, number)
        if first_row != number:
            raise ValidationError(
                {"phone": _("The same phone as row %(row)s of this file.") % {"row": first_row}}
            )
        if not (instance.last_name or "").strip() or not (instance.first_name or "").strip():
            raise ValidationError({"last_name": _("Last and first name are required.")})

    def skip_row(self, instance, original, row, import_validation_errors=None):
        """An existing card the file does not change is reported as unchanged, not saved."""
        if import_validation_errors:
            return False
        changes = getattr(instance, "_import_changes", None)
        return changes is not None and not changes

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        try:
            instance.clean_fields(exclude=["card_number", "search_name", "search_phones"])
        except ValidationError as error:
            errors.update(error.message_dict)
        if errors:
            raise ValidationError(errors)

    def save_instance(self, instance, is_create, row, **kwargs):
        if kwargs.get("dry_run"):
            return
        # A savepoint per row: a database error fails this row only, instead of silently
        # rolling back the whole chunk that was already counted as imported.
        with transaction.atomic():
            if is_create:
                instance.card_number = self._take_card_number()
                instance.last_activity_at = instance.created_at = timezone.now()
            super().save_instance(instance, is_create, row, **kwargs)


def _chunks(dataset: tablib.Dataset) -> Iterator[tablib.Dataset]:
    for start in range(0, len(dataset), CHUNK):
        chunk = tablib.Dataset(headers=dataset.headers)
        for row in dataset[start : start + CHUNK]:
            chunk.append(row)
        yield chunk


def _existing_by_phone(dataset: tablib.Dataset) -> dict[str, Patient]:
    phones = set()
    for value in dataset["phone"]:
        try:
            phone = PhoneWidget().clean(value)
        except ValueError:
            continue
        if phone:
            phones.add(phone)
    existing: dict[str, Patient] = {}
    phone_list = list(phones)
    for start in range(0, len(phone_list), 5000):
        for patient in Patient.objects.filter(phone__in=phone_list[start : start + 5000]).order_by(
            "-id"
        ):
            existing[patient.phone] = patient
    return existing


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
    """What an import may change on a card (foreign keys by id: no queries)."""
    return {
        name: getattr(instance, f"{name}_id" if name in FOREIGN_KEYS else name) for name in HEADERS
    }


FOREIGN_KEYS = {"gender", "marketing_channel", "patient_group"}


def _changed_fields(row) -> list[str]:
    from patients.timeline import field_label

    changes = getattr(row.instance, "_import_changes", None) if row.instance is not None else None
    return [str(field_label(name)) for name in changes or []]


def _progress(job: PatientImport, **values) -> None:
    PatientImport.objects.filter(pk=job.pk).update(**values)


def run_import(job_id: int, *, dry_run: bool) -> None:
    """The validation pass (``dry_run``) or the import pass of a job, with progress."""
    job = PatientImport.objects.get(pk=job_id)
    try:
        dataset = load_dataset(job.file.path, job.original_name)
    except ImportFileError as exc:
        _progress(job, status=ImportStatus.FAILED, error=str(exc), finished_at=timezone.now())
        return
    existing = _existing_by_phone(dataset)
    seen: dict[str, int] = {}
    counts = {"new": 0, "update": 0, "invalid": 0, "skip": 0}
    preview: dict[str, list] = {"new": [], "update": [], "invalid": []}
    created_ids: list[int] = []
    updated_ids: list[int] = []
    _progress(job, total_rows=len(dataset), processed_rows=0)
    for chunk in _chunks(dataset):
        if PatientImport.objects.filter(pk=job.pk, status=ImportStatus.CANCELLED).exists():
            return
        resource = PatientResource(existing=existing, seen_phones=seen)
        with transaction.atomic():
            result = resource.import_data(
                chunk,
                dry_run=dry_run,
                raise_errors=False,
                collect_failed_rows=False,
                use_transactions=False,
            )
            if not dry_run:
                resource.finish_numbering()
        for row in result.rows:
            number = (row.row_values or {}).get("row_number")
            kind = row.import_type
            if kind in ("error", "invalid"):
                counts["invalid"] += 1
                if len(preview["invalid"]) < MAX_INVALID_SHOWN:
                    preview["invalid"].append({"row": number, "reason": _messages_of(row)})
            elif kind == "new":
                counts["new"] += 1
                if row.object_id:
                    created_ids.append(int(row.object_id))
                if len(preview["new"]) < PREVIEW_ROWS:
                    preview["new"].append({"row": number, "name": row.object_repr})
            elif kind == "update":
                counts["update"] += 1
                if row.object_id:
                    updated_ids.append(int(row.object_id))
                if len(preview["update"]) < PREVIEW_ROWS:
                    preview["update"].append(
                        {"row": number, "name": row.object_repr, "changes": _changed_fields(row)}
                    )
            else:
                counts["skip"] += 1
        _progress(job, processed_rows=min(job.total_rows or len(dataset), _done(counts)))
    finished = {
        "new_count": counts["new"],
        "update_count": counts["update"],
        "invalid_count": counts["invalid"],
        "skipped_count": counts["skip"],
        "preview": preview,
    }
    if dry_run:
        _progress(job, status=ImportStatus.PREVIEW, **finished)
        return
    _publish(job, created_ids, updated_ids)
    _progress(job, status=ImportStatus.DONE, finished_at=timezone.now(), **finished)


def _done(counts: dict[str, int]) -> int:
    return sum(counts.values())


def _publish(job: PatientImport, created_ids: list[int], updated_ids: list[int]) -> None:
    with transaction.atomic():
        actor = job.created_by
        audit.record(
            actor=actor,
            action="create",
            obj=job,
            object_repr=f"import {job.original_name}",
            changes={"created": [None, len(created_ids)], "updated": [None, len(updated_ids)]},
        )
        for name, ids in (
            ("patient.imported", created_ids),
            ("patient.import_updated", updated_ids),
        ):
            for start in range(0, len(ids), 1000):
                batch = Patient.objects.filter(pk__in=ids[start : start + 1000])
                events.publish_many(
                    name,
                    [
                        (p, {"patient_id": p.pk, "file": job.original_name, "job_id": job.pk})
                        for p in batch
                    ],
                    actor=actor,
                )
