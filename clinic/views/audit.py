import json

from django.core.exceptions import FieldDoesNotExist
from django.db.models import ForeignObjectRel
from django.http.response import HttpResponseBase
from django.shortcuts import render

from clinic.forms import AuditFilter
from clinic.lists import export_requested, export_response, paginate, query_without_page
from clinic.models import AuditEntry
from clinic.permissions import AuthedRequest, module_required


def field_label(model, name: str) -> str:
    """The model's own wording for a field; a reverse relation (a patient's
    ``portal_account``) is named by the related model; anything else keeps its name."""
    if model is None:
        return name
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    if isinstance(field, ForeignObjectRel):
        return str(field.related_model._meta.verbose_name)
    return str(getattr(field, "verbose_name", None) or name)


def change_rows(entry: AuditEntry) -> list[tuple[str, object, object]]:
    """(field label, old, new) with the model's own wording for the field."""
    model = entry.content_type.model_class() if entry.content_type else None
    rows = []
    for name, values in entry.changes.items():
        label = field_label(model, name)
        old, new = [*values, None, None][:2] if isinstance(values, list) else (None, values)
        rows.append((label, old, new))
    return rows


@module_required("audit", "view")
def audit_list(request: AuthedRequest) -> HttpResponseBase:
    entries = AuditEntry.objects.select_related("content_type").order_by("-id")
    audit_filter = AuditFilter(request.GET or None, queryset=entries)
    entries = audit_filter.qs if audit_filter.is_bound and audit_filter.is_valid() else entries
    if fmt := export_requested(request):
        return export_response(
            fmt=fmt,
            filename="audit",
            headers=[
                "id",
                "time",
                "user",
                "action",
                "object type",
                "object id",
                "object",
                "patient",
                "changes",
                "hash",
            ],
            rows=(
                [
                    e.pk,
                    e.created_at,
                    e.actor_name,
                    e.action,
                    e.content_type.model if e.content_type else "",
                    e.object_id,
                    e.object_repr,
                    e.patient_id,
                    json.dumps(e.changes, ensure_ascii=False),
                    e.hash,
                ]
                for e in entries[:100_000].iterator(chunk_size=2000)
            ),
        )
    page = paginate(request, entries, per_page=50)
    for entry in page:
        entry.change_rows = change_rows(entry)  # type: ignore[attr-defined]
    context = {
        "filter": audit_filter,
        "page": page,
        "query_string": query_without_page(request),
    }
    return render(request, "clinic/audit.html", context)
