"""What the documents app plugs into the core and the patient card: the document types'
reference book, the recycle bin, the file kinds, the card's documents panel, the patient
timeline's wording, the standard placeholders and the demo's default templates."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic import demo, files, references, trash
from documents import standard_placeholders  # noqa: F401  (registers on import)
from documents.models import DocumentType, PrintedDocument, SignedScan, Template
from patients import card_panels, timeline

references.register(
    references.ReferenceBook(
        "document-types",
        gettext_lazy("Document types"),
        DocumentType,
        description=gettext_lazy("Contract, consents, act, certificate: the types of templates."),
        icon="file-earmark-text",
    )
)

trash.register(
    trash.TrashSection(
        "document-templates",
        gettext_lazy("Document templates"),
        Template,
        "documents",
        event_prefix="document_template",
    )
)


def _card_copies(user):
    # Patients are shared by the network: whoever may open the card may open its documents.
    return PrintedDocument.objects.visible()


def _download_name(document: PrintedDocument) -> str:
    return f"{document.title} {document.printed_at:%Y-%m-%d}.pdf"


files.register(
    files.FileKind(
        "printed-document",
        PrintedDocument,
        "file",
        right=("patients", "view"),
        objects=_card_copies,
        filename=_download_name,
        patient_of=lambda document: document.patient_id,  # type: ignore[attr-defined]
    )
)
files.register(
    files.FileKind(
        "document-scan",
        SignedScan,
        "file",
        right=("patients", "view"),
        objects=lambda user: SignedScan.objects.filter(document__patient__deleted_at__isnull=True),
        filename=lambda scan: scan.original_name,  # type: ignore[attr-defined]
        patient_of=lambda scan: scan.document.patient_id,  # type: ignore[attr-defined]
    )
)

# The card's "Documents" block: what to print, and what was printed.
card_panels.register(
    card_panels.CardPanel(
        "documents",
        "documents:patient-documents",
        right=("patients", "view"),
        refresh_on=("documentsChanged",),
        order=20,
    )
)

timeline.describe(
    "document.printed", "printer", lambda p: _("Printed: %(title)s") % {"title": p["title"]}
)
timeline.describe(
    "document.status_changed",
    "file-earmark-check",
    lambda p: (
        _("%(title)s: %(status)s")
        % {"title": p["title"], "status": _status_label(p["status"]).lower()}
    ),
)
timeline.describe(
    "document.scan_attached",
    "paperclip",
    lambda p: _("Signed scan attached: %(title)s") % {"title": p["title"]},
)


def _status_label(code: str) -> str:
    from documents.models import PrintedStatus

    return str(PrintedStatus(code).label)


def _seed(log) -> None:
    from documents.default_templates import ensure_default_templates

    ensure_default_templates(log=log)


demo.register_seeder(15, "documents", _seed)

timeline.register_kind(
    timeline.Kind("documents", gettext_lazy("Documents"), ("document.",), order=40)
)
