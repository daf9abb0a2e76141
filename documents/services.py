"""Writes of the documents app: templates and their versions, printing, printed copies.

Every function audits and publishes its event; printed copies are filed under their
patient (``document.printed``, ``document.status_changed``, ``document.scan_attached``
carry ``patient_id`` and reach the patient's timeline).
"""

import hashlib
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import audit, events
from clinic import services as clinic_services
from clinic.models import Branch, User
from clinic.writes import save_changes, save_new
from documents import placeholders, rendering
from documents.context import DocumentContext
from documents.default_templates import add_version
from documents.models import (
    PrintedDocument,
    PrintedStatus,
    PrintedStatusChange,
    SignedScan,
    Template,
    TemplateVersion,
    VersionOrigin,
)
from documents.sanitize import sanitize
from patients.models import Patient

TEMPLATE_FIELDS = ("name", "document_type", "page_size", "packs")
# Whatever a printed version records besides its text.
VERSIONED_FIELDS = ("name", "page_size")


def prepare_body(html: str) -> str:
    """A template's text as it is stored: sanitised, every placeholder a known ``{{key}}``
    (a ValidationError names those the registry does not know)."""
    body = placeholders.normalize(sanitize(html))
    if not body.strip():
        raise ValidationError({"body": _("The text is empty.")})
    return body


def _add_version(
    template: Template, *, body: str, by: User | None, origin: str = VersionOrigin.USER
) -> TemplateVersion:
    version = add_version(Template, TemplateVersion, template, body=body, origin=origin, by=by)
    number = version.number
    audit.record(
        actor=by,
        action="create",
        obj=version,
        object_repr=f"{template.name} v{number}",
        changes={
            "template": [None, template.pk],
            "number": [None, number],
            "sha256": [None, hashlib.sha256(body.encode()).hexdigest()],
        },
    )
    return version


@transaction.atomic
def template_create(
    *,
    by: User | None,
    data: dict[str, Any],
    body: str,
    key: str = "",
    origin: str = VersionOrigin.USER,
) -> Template:
    body = prepare_body(body)
    template = save_new(
        Template(key=key, **{name: data[name] for name in TEMPLATE_FIELDS if name in data}),
        by=by,
        event="document_template.created",
    )
    _add_version(template, body=body, by=by, origin=origin)
    return template


@transaction.atomic
def template_update(
    *, template: Template, by: User, data: dict[str, Any], body: str, base_version: int | None
) -> tuple[Template, TemplateVersion | None]:
    """Save the template's settings, and its text as a new version when the text, name or
    page size changed. ``base_version`` is the version the editor opened: if someone saved
    another meanwhile, the save is refused rather than silently replacing theirs."""
    body = prepare_body(body)
    locked = Template.objects.select_for_update(no_key=True).get(pk=template.pk)
    current = locked.current_version
    if base_version is not None and current is not None and current.number != base_version:
        raise ValidationError(
            _(
                "Someone saved version %(number)s of this template while you were editing. "
                "Copy your text, reload the page and make your changes again."
            )
            % {"number": current.number}
        )
    template, _changes = save_changes(
        locked, by=by, data={name: data[name] for name in TEMPLATE_FIELDS if name in data}
    )
    template.current_version = current
    version = None
    if (
        current is None
        or current.body != body
        or any(getattr(current, name) != getattr(template, name) for name in VERSIONED_FIELDS)
    ):
        version = _add_version(template, body=body, by=by)
        events.publish(
            "document_template.versioned",
            template,
            {"id": template.pk, "version": version.number},
            actor=by,
        )
    return template, version


def template_delete(*, template: Template, by: User) -> None:
    """To the recycle bin; printed copies keep their version and their PDF."""
    clinic_services.object_soft_delete(obj=template, by=by)


# --- Printing --------------------------------------------------------------------------


def render_templates(
    templates: Sequence[Template], context: DocumentContext
) -> list[rendering.Rendered]:
    pieces = []
    for template in templates:
        version = template.current_version
        if version is None:
            raise ValidationError(_("The template %(name)s has no text.") % {"name": template})
        filled = placeholders.fill(version.body, context)
        pieces.append(
            rendering.Piece(
                version.name, filled.html, version.page_size, tuple(p.key for p in filled.missing)
            )
        )
    return rendering.render(pieces, context.organization)


def documents_print(
    *,
    patient: Patient,
    templates: Sequence[Template],
    context: DocumentContext,
    by: User,
) -> list[PrintedDocument]:
    """Render the templates for the patient and keep each as a printed copy (one batch, in
    the given order). Rendering happens before the transaction: its locks (the audit
    chain's) are held only for the inserts."""
    if not templates:
        raise ValidationError(_("Choose at least one document."))
    rendered = render_templates(templates, context)
    written: list[str] = []
    try:
        return _store(
            patient=patient,
            templates=templates,
            rendered=rendered,
            context=context,
            by=by,
            written=written,
        )
    except BaseException:
        # The rows are rolled back; the files written for them would stay, unreachable.
        for name in written:
            default_storage.delete(name)
        raise


@transaction.atomic
def _store(
    *,
    patient: Patient,
    templates: Sequence[Template],
    rendered: list[rendering.Rendered],
    context: DocumentContext,
    by: User,
    written: list[str],
) -> list[PrintedDocument]:
    now = timezone.now()
    copies = []
    batch = None
    branch: Branch | None = context.branch
    for position, (template, result) in enumerate(zip(templates, rendered, strict=True)):
        document = PrintedDocument(
            patient=patient,
            template_version=template.current_version,
            title=result.piece.title,
            visit_id=getattr(context.visit, "pk", None),
            branch=branch,
            position=position,
            sha256=result.sha256,
            pages=result.pages,
            missing=list(result.piece.missing),
            printed_by=by,
            printed_at=now,
        )
        if batch is not None:
            document.batch = batch
        batch = document.batch
        document.file.save("document.pdf", ContentFile(result.pdf), save=False)
        written.append(str(document.file.name))
        document.save()
        audit.record_created(
            actor=by,
            obj=document,
            patient_id=patient.pk,
            fields=["title", "template_version", "visit_id", "branch", "sha256", "pages"],
        )
        events.publish(
            "document.printed",
            document,
            {
                "id": document.pk,
                "patient_id": patient.pk,
                "title": document.title,
                "template_version_id": document.template_version_id,
                "visit_id": document.visit_id,
            },
            actor=by,
        )
        copies.append(document)
    return copies


@transaction.atomic
def printed_set_status(*, document: PrintedDocument, by: User, status: str) -> PrintedDocument:
    if status not in PrintedStatus.values:
        raise ValidationError({"status": _("Unknown status.")})
    locked = PrintedDocument.objects.select_for_update(no_key=True).get(pk=document.pk)
    if locked.status == status:
        return locked
    before = locked.status
    locked.status, locked.status_changed_at = status, timezone.now()
    locked.save(update_fields=["status", "status_changed_at"])
    PrintedStatusChange.objects.create(
        document=locked, from_status=before, to_status=status, changed_by=by
    )
    audit.record(
        actor=by,
        action="update",
        obj=locked,
        patient_id=locked.patient_id,
        changes={"status": [before, status]},
    )
    events.publish(
        "document.status_changed",
        locked,
        {
            "id": locked.pk,
            "patient_id": locked.patient_id,
            "title": locked.title,
            "status": status,
        },
        actor=by,
    )
    return locked


@transaction.atomic
def printed_attach_scan(*, document: PrintedDocument, by: User, upload: UploadedFile) -> SignedScan:
    """Keep the scan of the signed paper with its copy; a copy still "printed" becomes
    "signed"."""
    content = upload.read()
    upload.seek(0)
    scan = SignedScan(
        document=document,
        original_name=(upload.name or "scan")[:255],
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=by,
    )
    scan.file.save(upload.name or "scan", upload, save=False)
    scan.save()
    audit.record_created(
        actor=by,
        obj=scan,
        patient_id=document.patient_id,
        fields=["document", "original_name", "size", "sha256"],
    )
    events.publish(
        "document.scan_attached",
        document,
        {"id": document.pk, "patient_id": document.patient_id, "title": document.title},
        actor=by,
    )
    if document.status == PrintedStatus.PRINTED:
        printed_set_status(document=document, by=by, status=PrintedStatus.SIGNED)
    return scan
