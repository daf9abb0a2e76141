"""Templates and printed copies for tests, made through the services (so that each has its
versions, its audit and its PDF as in the application)."""

from documents import services
from documents.context import build_context
from documents.models import DocumentType, PrintedDocument, Template

SIMPLE_BODY = "<h1>Справка</h1><p>Пациент {{fio}}, карта № {{card_number}}.</p>"


def document_type(code: str = "contract") -> DocumentType:
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
