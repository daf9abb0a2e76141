"""The card's Orthodontic card tab (registered with ``patients.card_sections``): the
patient's cards, a new card, a card's page (its sections on the left, marked when filled,
the chosen section's form on the right, saved by htmx one section at a time), reset of a
section or of the whole card, closing a card, and its print."""

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.models import Employee
from clinic.permissions import AuthedRequest, has_module_perm, module_required
from clinical import orthodontics
from clinical.access import card_patient, require_card_access
from clinical.models import OrthodonticCard, OrthodonticCardStatus
from clinical.ortho_forms import NewCardForm, SectionForm
from documents import rendering
from documents.context import build_context
from documents.views import pdf_response
from patients.models import Patient

CHANGED = "orthodonticCardChanged"


def _card(request: AuthedRequest, pk: int) -> OrthodonticCard:
    require_card_access(request)
    return get_object_or_404(
        OrthodonticCard.objects.filter(patient__deleted_at__isnull=True).select_related(
            "patient", "doctor"
        ),
        pk=pk,
    )


def _section(key: str) -> orthodontics.Section:
    section = orthodontics.get(key)
    if section is None:
        raise Http404(_("There is no such section in the card."))
    return section


MAX_QUERY = 100


def _render_list(request: AuthedRequest, patient: Patient, form=None, status=200):
    query = (request.GET.get("q") or "").strip()[:MAX_QUERY]
    cards = orthodontics.cards_of(patient, query)
    if "q" in request.GET and request.htmx:  # the search line: the list alone
        context = {"patient": patient, "cards": cards, "query": query}
        return render(request, "clinical/ortho.html#card-list", context)
    can_change = has_module_perm(request.user, "clinical", "change")
    if can_change and form is None:
        doctor = Employee.objects.filter(user=request.user).doctors().first()
        form = NewCardForm(
            user=request.user, initial={"opened_on": timezone.localdate(), "doctor": doctor}
        )
    context = {
        "patient": patient,
        "cards": cards,
        "query": query,
        "searchable": bool(cards) or bool(query),
        "can_change": can_change,
        "form": form,
    }
    return render(request, "clinical/ortho.html", context, status=status)


def _render_card(
    request: AuthedRequest,
    card: OrthodonticCard,
    section: orthodontics.Section,
    *,
    form: SectionForm | None = None,
    status: int = 200,
    saved: bool = False,
) -> HttpResponse:
    filled = orthodontics.filled_sections(card)
    row = filled.get(section.key)
    data = row.data if row is not None else {}
    editable = (
        has_module_perm(request.user, "clinical", "change")
        and card.status == OrthodonticCardStatus.OPEN
    )
    if form is None and editable:
        form = section.form(initial={} if section.entries else data)
    context = {
        "card": card,
        "patient": card.patient,
        "sections": [(s, s.key in filled) for s in orthodontics.SECTIONS],
        "section": section,
        "row": row,
        "rows": [] if section.entries else section.rows(data),
        "entries": list(reversed(section.entry_rows(data))) if section.entries else [],
        "form": form,
        "editable": editable,
        "can_change": has_module_perm(request.user, "clinical", "change"),
        "saved": saved,
    }
    return render(request, "clinical/ortho_card.html", context, status=status)


@require_GET
@module_required("clinical", "view")
def cards(request: AuthedRequest, pk: int) -> HttpResponse:
    return _render_list(request, card_patient(request, pk))


@require_POST
@module_required("clinical", "change")
def card_new(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = card_patient(request, pk)
    form = NewCardForm(request.POST, user=request.user)
    if not form.is_valid():
        return _render_list(request, patient, form=form, status=422)
    card = orthodontics.card_create(
        patient=patient,
        by=request.user,
        opened_on=form.cleaned_data["opened_on"],
        doctor=form.cleaned_data["doctor"],
    )
    response = _render_card(request, card, orthodontics.SECTIONS[0])
    response["HX-Trigger"] = CHANGED
    return response


@require_GET
@module_required("clinical", "view")
def card(request: AuthedRequest, pk: int) -> HttpResponse:
    section = _section(request.GET.get("section") or orthodontics.SECTIONS[0].key)
    return _render_card(request, _card(request, pk), section)


@require_http_methods(["GET", "POST"])
@module_required("clinical", "change")
def section_save(request: AuthedRequest, pk: int, key: str) -> HttpResponse:
    section = _section(key)
    card = _card(request, pk)
    if request.method == "GET":
        return _render_card(request, card, section)
    if card.status != OrthodonticCardStatus.OPEN:
        return HttpResponse(_("This card is closed: open it again to change it."), status=409)
    form = section.form(request.POST)
    if form.is_valid():
        try:
            orthodontics.section_save(card=card, key=key, values=request.POST, by=request.user)
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            response = _render_card(request, card, section, saved=True)
            response["HX-Trigger"] = CHANGED
            return response
    return _render_card(request, card, section, form=form, status=422)


@require_POST
@module_required("clinical", "change")
def section_reset(request: AuthedRequest, pk: int, key: str) -> HttpResponse:
    section = _section(key)
    return _reset(request, _card(request, pk), section, key=key)


@require_POST
@module_required("clinical", "change")
def card_reset(request: AuthedRequest, pk: int) -> HttpResponse:
    card = _card(request, pk)
    if request.POST.get("confirm") != "all":
        return HttpResponse(_("Confirm that every section of the card is cleared."), status=400)
    return _reset(request, card, orthodontics.SECTIONS[0], key=None)


def _reset(request, card, section, *, key):
    try:
        orthodontics.card_reset(card=card, key=key, by=request.user)
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=409)
    response = _render_card(request, card, section)
    response["HX-Trigger"] = CHANGED
    return response


@require_POST
@module_required("clinical", "change")
def card_status(request: AuthedRequest, pk: int) -> HttpResponse:
    card = _card(request, pk)
    section = _section(request.POST.get("section") or orthodontics.SECTIONS[0].key)
    status = request.POST.get("status", "")
    if status not in OrthodonticCardStatus.values:
        return HttpResponse(_("Unknown status of a card."), status=400)
    card = orthodontics.card_set_status(card=card, status=status, by=request.user)
    response = _render_card(request, card, section)
    response["HX-Trigger"] = CHANGED
    return response


@require_GET
@module_required("clinical", "view")
def card_print(request: AuthedRequest, pk: int) -> HttpResponse:
    card = _card(request, pk)
    context = build_context(card.patient, user=request.user, branch=request.branch)
    piece = rendering.layout_piece("orthodontic_card", card, context)
    pdf = rendering.render([piece], context.organization)[0].pdf
    return pdf_response(pdf, f"{piece.title}.pdf")


@require_POST
@module_required("clinical", "change")
def card_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    card = _card(request, pk)
    orthodontics.card_delete(card=card, by=request.user)
    return _render_list(request, card.patient)
