import json

from django.http.response import HttpResponseBase
from django.shortcuts import render

from clinic.audit_display import describe_entries
from clinic.forms import AuditFilter
from clinic.lists import export_requested, export_response, paginate, query_without_page
from clinic.models import AuditEntry
from clinic.permissions import AuthedRequest, module_required


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
    page.object_list = list(page.object_list)
    branch = request.branch
    displays = describe_entries(page.object_list, default_zone=branch.zone if branch else None)
    context = {
        "filter": audit_filter,
        "page": page,
        "entries": list(zip(page.object_list, displays, strict=True)),
        "query_string": query_without_page(request),
    }
    return render(request, "clinic/audit.html", context)
