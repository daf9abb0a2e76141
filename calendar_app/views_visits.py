"""The patient card's visits panel (registered with ``patients.card_panels``): upcoming
visits, then the history, a page at a time; the calendar's own dialogs book, move and
cancel from it, and the panel reloads itself on their ``calendarChanged``."""

from django.core.exceptions import BadRequest
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from calendar_app import selectors
from calendar_app.models import Appointment
from calendar_app.selectors import VisitList
from clinic.permissions import AuthedRequest, has_module_perm, module_required, visible_branches
from patients.models import Patient

PAGE = 10
# A page further than this is no one's reading: a hand-made URL.
MAX_OFFSET = 100_000


def _offset(request: AuthedRequest) -> int:
    text = request.GET.get("offset", "0")
    if not (text.isascii() and text.isdigit() and int(text) <= MAX_OFFSET):
        raise BadRequest(
            _("“offset” must be a whole number from 0 to %(max)s.") % {"max": MAX_OFFSET}
        )
    return int(text)


@require_GET
@module_required("calendar", "view")
def patient_visits(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = get_object_or_404(Patient.objects.only("pk"), pk=pk)
    part = request.GET.get("part")
    if part is not None and part not in VisitList.PARTS:
        raise BadRequest(_("Unknown part of the list."))
    context = {
        "patient": patient,
        "can_change": has_module_perm(request.user, "calendar", "change"),
    }
    if part:
        # "Show more": the next rows of one list, in place of its button.
        offset = _offset(request)
        visits, more = selectors.patient_visits(
            pk, user=request.user, part=part, offset=offset, limit=PAGE
        )
        context.update(part=part, rows=_rows(visits), more=more, next_offset=offset + PAGE)
        return render(request, "calendar_app/patient_visits.html#rows", context)
    for name in VisitList.PARTS:
        visits, more = selectors.patient_visits(
            pk, user=request.user, part=name, offset=0, limit=PAGE
        )
        context[name] = {"part": name, "rows": _rows(visits), "more": more, "next_offset": PAGE}
    context["elsewhere"] = selectors.upcoming_visits_elsewhere(pk, user=request.user)
    if context["can_change"]:
        context["booking_branches"] = _booking_branches(request)
    return render(request, "calendar_app/patient_visits.html", context)


def _rows(visits: list[Appointment]) -> list[tuple[Appointment, dict[str, str]]]:
    styles = selectors.status_styles()
    return [(visit, styles[visit.status]) for visit in visits]


def _booking_branches(request: AuthedRequest) -> list:
    """The user's branches, the one they work in now first."""
    branches = list(visible_branches(request.user).order_by("position", "pk"))
    current = request.branch
    return sorted(branches, key=lambda branch: branch.pk != getattr(current, "pk", None))
