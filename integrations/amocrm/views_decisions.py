"""Settings -> Integrations -> amoCRM -> Needs a decision: contacts of amoCRM that match
several patients (a family sharing a phone); a person links one, or creates a new patient."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic.lists import paginate
from clinic.permissions import AuthedRequest, module_required
from integrations.amocrm import decisions
from integrations.amocrm.forms import DecisionResolveForm
from integrations.amocrm.selectors import candidate_ids, decision_rows, open_decisions
from integrations.amocrm.setup import failure_message
from integrations.http import Forbidden, IntegrationError, Unauthorized
from integrations.services import connection_status_after
from patients.models import Patient


@module_required("settings", "view")
def decision_list(request: AuthedRequest) -> HttpResponse:
    page = paginate(request, open_decisions())
    context = {"tab": "integrations", "page": page, "rows": decision_rows(page)}
    return render(request, "integrations/amocrm/decisions.html", context)


@require_POST
@module_required("settings", "change")
def decision_resolve(request: AuthedRequest) -> HttpResponse:
    """Link to one of the decision's candidates (``patient``), or ``create`` a new patient."""
    back = redirect("integrations:amocrm-decisions")
    form = DecisionResolveForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Choose a patient to link, or create a new one."), status=400)
    decision = open_decisions().filter(pk=form.cleaned_data["decision"]).first()
    if decision is None:
        messages.info(request, _("This decision was already taken."))
        return back
    patient = None
    if form.cleaned_data["patient"]:
        if form.cleaned_data["patient"] not in candidate_ids(decision.candidates):
            return HttpResponse(_("This patient is not a candidate of the decision."), status=400)
        patient = Patient.objects.filter(pk=form.cleaned_data["patient"]).first()
        if patient is None:
            messages.warning(request, _("This patient's card was deleted."))
            return back
    try:
        decisions.decision_resolve(decision=decision, patient=patient, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return back
    except IntegrationError as error:
        if isinstance(error, Forbidden | Unauthorized):
            connection_status_after(connection=decision.connection, error=error)
        messages.error(request, failure_message(error))
        return back
    if patient is None:
        messages.success(request, _("A new patient is created from the amoCRM contact."))
    else:
        messages.success(
            request, _("The amoCRM contact is linked to %(patient)s.") % {"patient": patient}
        )
    return back
