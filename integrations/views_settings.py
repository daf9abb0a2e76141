"""Settings -> Integrations: the connections (never their credentials) and the sync log.

Seeing them needs the right to view settings; retrying a failed line, to change them.
"""

import json

from django.contrib import messages
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic import audit
from clinic.htmx import done
from clinic.lists import export_requested, export_response, paginate, query_without_page
from clinic.permissions import AuthedRequest, module_required
from integrations import synclog
from integrations.forms import SyncLogFilter
from integrations.models import Connection, SyncLogEntry, SyncResult

# The list counts at most this many lines (the log of a busy sync is long).
COUNT_CAP = 10_000


@module_required("settings", "view")
def connection_list(request: AuthedRequest) -> HttpResponse:
    connections = Connection.objects.only(
        "system", "name", "base_url", "status", "status_reason", "status_changed_at", "updated_at"
    )
    amocrm = next((c for c in connections if c.system == "amocrm" and c.name == "default"), None)
    context = {"connections": connections, "amocrm": amocrm, "tab": "integrations"}
    return render(request, "integrations/connections.html", context)


@module_required("settings", "view")
def sync_log(request: AuthedRequest) -> HttpResponseBase:
    log_filter = SyncLogFilter(request.GET or None, queryset=synclog.entries())
    valid = not log_filter.is_bound or log_filter.is_valid()
    if not valid and (request.GET.get("page") or export_requested(request)):
        return HttpResponse(_("Correct the filters."), status=400)
    entries = log_filter.qs if valid else SyncLogEntry.objects.none()
    if fmt := export_requested(request):
        return _export(request, entries, fmt)
    page = paginate(request, entries, cap=COUNT_CAP)
    for entry in page:
        entry.changes_text = json.dumps(entry.changes, ensure_ascii=False, indent=2)  # type: ignore[attr-defined]
        entry.can_retry = (  # type: ignore[attr-defined]
            entry.result == SyncResult.FAILED
            and synclog.retry_handler(entry.system, entry.action) is not None
        )
    context = {
        "filter": log_filter,
        "page": page,
        "query_string": query_without_page(request),
        "tab": "integrations",
    }
    status = 200 if valid else 400
    return render(request, "integrations/sync_log.html", context, status=status)


def _export(request: AuthedRequest, entries, fmt: str) -> HttpResponseBase:
    audit.record(
        actor=request.user, action="view", object_repr=f"sync log {fmt}: {request.GET.urlencode()}"
    )
    headers = [
        _("Time"),
        _("Direction"),
        _("System"),
        _("Entity"),
        _("Entity id"),
        _("Action"),
        _("Result"),
        _("Changes"),
        _("Error"),
        _("Request id"),
    ]
    rows = (
        [
            e.created_at,
            e.get_direction_display(),
            e.system,
            e.entity_type,
            e.entity_id,
            e.action,
            e.get_result_display(),
            json.dumps(e.changes, ensure_ascii=False),
            e.error,
            e.request_id,
        ]
        for e in entries.iterator(chunk_size=2000)
    )
    return export_response(fmt=fmt, filename="sync-log", headers=headers, rows=rows)


@require_POST
@module_required("settings", "change")
def sync_log_retry(request: AuthedRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(SyncLogEntry, pk=pk)
    back = reverse("integrations:sync-log")
    try:
        synclog.entry_retry(entry=entry, by=request.user)
    except synclog.NothingToRetry as reason:
        if str(reason) == "not failed":
            messages.info(request, _("This line did not fail: there is nothing to retry."))
        else:
            messages.warning(
                request,
                _("No retry is available for %(system)s %(action)s yet: nothing was queued.")
                % {"system": entry.system, "action": entry.action},
            )
        return done(request, back)
    messages.success(request, _("Queued again: %(action)s.") % {"action": entry.action})
    return done(request, back)
