"""Uploaded files are private: each one is served through the object it belongs to.

Every ``FileField`` / ``ImageField`` of the project is a registered *kind* (in its app's
``registrations.py``), and stores its uploads under random names:

    file = models.FileField(upload_to=files.RandomName("imports/patients"))

    files.register(files.FileKind(
        "patient-import", PatientImport, "file",
        right=("patients", "import"),
        filename=lambda job: job.original_name,
    ))

``/files/<kind>/<pk>/`` (``files.url_for(obj)``) streams the file to a signed-in employee
who has the kind's right (403 without it) and may see the object (``objects(user)``; 404
outside it), as an attachment under a safe name, never content-sniffed and never kept by a
shared cache; the download is audited (under the patient, for files that belong to one).
Nothing is served by its path under ``MEDIA_ROOT``. Files that belong to a patient's card
(X-rays, documents) register ``right=("patients", "view")``, the card's scoping in
``objects`` and ``patient_of``: whoever may open that card may open its files.
"""

import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse
from django.utils.deconstruct import deconstructible

logger = logging.getLogger(__name__)

# Shown in the page itself; anything else is a download. No SVG: it can carry scripts.
INLINE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
_EXTENSION = re.compile(r"\.[a-z0-9]{1,8}")


@deconstructible
class RandomName:
    """``upload_to`` storing an upload as ``<folder>/<32 random hex digits><.ext>``: nothing
    of the name the user gave (often a patient's name) reaches the disk or a URL, and no
    name can be guessed from another."""

    def __init__(self, folder: str):
        self.folder = folder.strip("/")

    def __call__(self, instance: models.Model, filename: str) -> str:
        extension = os.path.splitext(filename)[1].lower()
        if not _EXTENSION.fullmatch(extension):
            extension = ""
        return f"{self.folder}/{secrets.token_hex(16)}{extension}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RandomName) and other.folder == self.folder

    def __hash__(self) -> int:
        return hash(self.folder)


@dataclass(frozen=True)
class FileKind:
    key: str
    model: type[models.Model]
    field: str
    # The module right that covers these files; None: any signed-in employee (the logo).
    right: tuple[str, str] | None = None
    # The objects a user may see (branch scoping, ownership): 404 outside them.
    objects: Callable[[Any], QuerySet] | None = None
    # The name the browser saves the file under; by default the kind and the extension.
    filename: Callable[[Any], str] | None = None
    # Shown inside a page (an <img>): served inline, but only as an image type.
    inline: bool = False
    # Seconds the user's own browser may keep it; 0 is "do not store".
    cache_seconds: int = 0
    # Files of a patient: the download is audited under the patient.
    patient_of: Callable[[Any], int | None] | None = None
    audited: bool = True

    def allows(self, user) -> bool:
        from clinic.permissions import has_module_perm  # models import this module: no cycle

        if not (user.is_authenticated and user.is_active):
            return False
        return self.right is None or has_module_perm(user, *self.right)

    def queryset(self, user) -> QuerySet:
        if self.objects is not None:
            return self.objects(user)
        return self.model._default_manager.all()

    def download_name(self, obj: models.Model) -> str:
        stored = getattr(obj, self.field).name
        name = self.filename(obj) if self.filename else ""
        return safe_filename(name) or f"{self.key}{os.path.splitext(stored)[1].lower()}"


_kinds: dict[str, FileKind] = {}


def register(kind: FileKind) -> FileKind:
    """Add a kind; its field must store uploads under random names (``RandomName``)."""
    field = kind.model._meta.get_field(kind.field)
    if not isinstance(field, models.FileField):
        raise ImproperlyConfigured(f"{kind.model.__name__}.{kind.field} is not a file field.")
    if not isinstance(field.upload_to, RandomName):
        raise ImproperlyConfigured(
            f"{kind.model.__name__}.{kind.field} must use upload_to=files.RandomName(...)."
        )
    if not re.fullmatch(r"[-a-z0-9]+", kind.key):
        raise ImproperlyConfigured(f"File kind {kind.key!r}: lower-case letters, digits, '-'.")
    _kinds[kind.key] = kind
    return kind


def kinds() -> list[FileKind]:
    return list(_kinds.values())


def get_kind(key: str) -> FileKind | None:
    return _kinds.get(key)


def kind_for(model: type[models.Model], field: str | None = None) -> FileKind:
    for kind in _kinds.values():
        if kind.model is model and (field is None or kind.field == field):
            return kind
    raise LookupError(f"No file kind registered for {model.__name__}.{field or '*'}")


def url_for(obj: models.Model, field: str | None = None) -> str:
    return reverse("clinic:file", args=[kind_for(type(obj), field).key, obj.pk])


def safe_filename(name: str) -> str:
    """The last part of a name, without control characters or quotes, at most 150 long."""
    name = os.path.basename(str(name).replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in '"')
    name = name.strip().lstrip(".")
    stem, extension = os.path.splitext(name)
    return stem[: 150 - len(extension)] + extension if stem else ""


def object_for_user(kind: FileKind, user, pk: int) -> models.Model:
    """The object whose file is asked for: 403 without the kind's right, 404 if the user
    may not see the object or it has no file."""
    if not kind.allows(user):
        raise PermissionDenied
    obj = kind.queryset(user).filter(pk=pk).first()
    if obj is None or not getattr(obj, kind.field):
        raise Http404
    return obj


def file_response(kind: FileKind, obj: models.Model, request: HttpRequest) -> FileResponse:
    field_file = getattr(obj, kind.field)
    try:
        handle = field_file.storage.open(field_file.name, "rb")
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise Http404 from exc
    name = kind.download_name(obj)
    inline_type = INLINE_TYPES.get(os.path.splitext(field_file.name)[1].lower())
    if kind.inline and inline_type:
        response = FileResponse(handle, filename=name, content_type=inline_type)
    else:
        response = FileResponse(handle, as_attachment=True, filename=name)
        if response["Content-Type"].startswith(("text/html", "image/svg", "application/xhtml")):
            response["Content-Type"] = "application/octet-stream"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = (
        f"private, max-age={kind.cache_seconds}" if kind.cache_seconds else "private, no-store"
    )
    if kind.audited:
        from clinic import audit
        from clinic.models import AuditAction

        audit.record(
            actor=request.user,
            action=AuditAction.VIEW,
            obj=obj,
            object_repr=f"{kind.key}: {name}",  # not translated: the log reads the same to all
            patient_id=kind.patient_of(obj) if kind.patient_of else None,
            ip_address=request.META.get("REMOTE_ADDR"),
        )
    return response


def discard(obj: models.Model, field: str) -> None:
    """Delete the object's stored file once the transaction commits, then empty the field.

    A file that cannot be deleted keeps its name in the field, so a later sweep retries."""
    field_file = getattr(obj, field)
    name, storage, model, pk = field_file.name, field_file.storage, type(obj), obj.pk
    if not name:
        return

    def delete() -> None:
        try:
            storage.delete(name)
        except OSError:
            logger.warning("Could not delete %s; it stays listed for the next sweep", name)
            return
        model._base_manager.filter(pk=pk, **{field: name}).update(**{field: ""})

    transaction.on_commit(delete)
