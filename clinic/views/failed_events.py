"""Settings -> Failed events: domain events whose handlers kept failing, and their retry.

Seeing them needs the right to view settings; retrying, the right to change them.
"""

import json

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from clinic import events
from clinic.forms import FailedEventFilter
from clinic.htmx import done
from clinic.lists import paginate, query_without_page
from clinic.models import OutboxEvent
from clinic.permissions import AuthedRequest, module_required

# Events retried by one press of "Retry all": the rest wait for the next press.
RETRY_BATCH = 500


@module_required("settings", "view")
def failed_event_list(request: AuthedRequest) -> HttpResponse:
    event_filter = FailedEventFilter(request.GET or None, queryset=events.failed_events())
    valid = not event_filter.is_bound or event_filter.is_valid()
    page = paginate(request, event_filter.qs if valid else OutboxEvent.objects.none())
    for event in page:
        event.payload_text = json.dumps(event.payload, ensure_ascii=False, indent=2)  # type: ignore[attr-defined]
    context = {
        "filter": event_filter,
        "page": page,
        "query_string": query_without_page(request),
        "max_attempts": settings.ODONTA_OUTBOX_MAX_ATTEMPTS,
        "tab": "failed-events",
    }
    return render(request, "clinic/settings/failed_events.html", context)


@require_POST
@module_required("settings", "change")
def failed_event_retry(request: AuthedRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(OutboxEvent, pk=pk)
    if events.outbox_retry(event_ids=[event.pk], by=request.user):
        messages.success(
            request, _("Event %(event)s is queued for delivery again.") % {"event": event}
        )
    else:
        messages.info(request, _("Event %(event)s is not failed any more.") % {"event": event})
    return done(request, reverse("clinic:failed-events"))


@require_POST
@module_required("settings", "change")
def failed_events_retry_all(request: AuthedRequest) -> HttpResponse:
    """Retry every failed event the list's filters (in the query string) select."""
    back = f"{reverse('clinic:failed-events')}?{query_without_page(request)}"
    event_filter = FailedEventFilter(request.GET or None, queryset=events.failed_events())
    if event_filter.is_bound and not event_filter.is_valid():
        messages.error(request, _("Correct the filters first: nothing was retried."))
        return done(request, back)
    selected = list(event_filter.qs.values_list("pk", flat=True)[: RETRY_BATCH + 1])
    retried = events.outbox_retry(event_ids=selected[:RETRY_BATCH], by=request.user)
    if not retried:
        messages.info(request, _("No failed events to retry."))
    else:
        count = len(retried)
        messages.success(
            request,
            ngettext(
                "%(count)s event is queued for delivery again.",
                "%(count)s events are queued for delivery again.",
                count,
            )
            % {"count": count},
        )
    if len(selected) > RETRY_BATCH:
        messages.info(
            request,
            _("Up to %(limit)s events are retried at a time: press again for the rest.")
            % {"limit": RETRY_BATCH},
        )
    return done(request, back)
