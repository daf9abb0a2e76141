"""Templates and printed copies for tests, made through the services (so that each has its
versions, its audit and its PDF as in the application)."""

from documents import services
from documents.context import build_context
from documents.default_templates import ensure_document_types
from documents.models import DocumentType, PrintedDocument, Template

SIMPLE_BODY = "<h1>Справка</h1><p>Пациент {{fio}}, карта № {{card_number}}.</p>"


def document_type(code: str = "contract") -> DocumentType:
    """The shipped type (migration 0002 loads them; a transactional test's flush empties the
    table, so they are loaded again here when missing)."""
    ensure_document_types()
    return DocumentType.all_objects.get(code=code)


def make_template(
    name: str = "Справка для тестов",
    body: str = SIMPLE_BODY,
    *,
    by=None,
    code: str = "certificate",
    page_size: str = "A4",
    packs: tuple[str, ...] = (),
) -> Template:
    return services.template_create(
        by=by,
        data={
            "name": name,
            "document_type": document_type(code),
            "page_size": page_size,
            "packs": list(packs),
        },
        body=body,
    )


def print_copies(patient, templates, *, by, branch=None, visit_id=None) -> list[PrintedDocument]:
    context = build_context(patient, user=by, branch=branch, visit_id=visit_id)
    return services.documents_print(patient=patient, templates=templates, context=context, by=by)


# A PDF's shortest valid form is not needed here: the file is served as stored.
PDF_SAMPLE = b"%PDF-1.4\n% Odonta test copy\n%%EOF\n"


def printed_copy(patient, *, template: Template | None = None, by=None) -> PrintedDocument:
    """A printed copy as a row with a small file, without rendering (the URL walks)."""
    import hashlib

    from django.core.files.base import ContentFile

    version = template.current_version if template else None
    copy = PrintedDocument(
        patient=patient,
        template_version=version,
        title=version.name if version else "Справка",
        sha256=hashlib.sha256(PDF_SAMPLE).hexdigest(),
        printed_by=by,
    )
    copy.file.save("copy.pdf", ContentFile(PDF_SAMPLE), save=False)
    copy.save()
    return copy


def signed_scan(copy: PrintedDocument, content: bytes, name: str = "Скан.png"):
    from django.core.files.base import ContentFile

    from documents.models import SignedScan

    scan = SignedScan(document=copy, original_name=name, size=len(content), sha256="0" * 64)
    scan.file.save(name, ContentFile(content), save=False)
    scan.save()
    return scan
