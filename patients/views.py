from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from clinic import audit, preferences
from clinic.bounds import parse_id
from clinic.htmx import close_dialog, done
from clinic.lists import export_requested, export_response, paginate, query_without_page
from clinic.permissions import AuthedRequest, has_module_perm, module_required
from clinic.phones import format_phone
from clinic.tz import request_zone
from clinic.views.trash import delete_with_confirmation
from patients import card_panels, card_sections, page_actions, selectors, services, timeline
from patients.forms import (
    FamilyCreateForm,
    FamilyJoinForm,
    PatientFilter,
    PatientForm,
    PatientInfoForm,
    PatientProfileForm,
    PortalActivateForm,
    RepresentativeForm,
)
from patients.models import Family, Patient, PatientStatus

# The sections of the card; each becomes real as its module lands.
SECTIONS = [
    ("main", gettext_lazy("Main"), "person-vcard"),
    ("diagnostics", gettext_lazy("Diagnostics"), "clipboard2-pulse"),
    ("images", gettext_lazy("Images"), "images"),
    ("perio", gettext_lazy("Periodontal chart"), "rulers"),
    ("history", gettext_lazy("Medical history"), "journal-medical"),
    ("plan", gettext_lazy("Treatment plan"), "list-check"),
    ("payments", gettext_lazy("Payments"), "wallet2"),
    ("orthodontics", gettext_lazy("Orthodontic card"), "grid-3x3"),
    ("events", gettext_lazy("History"), "clock-history"),
    ("dms", gettext_lazy("DMS"), "shield-plus"),
]
SECTION_MODULES = {
    "dms": gettext_lazy("the DMS module"),
}

EXPORT_LIMIT_XLSX = 100_000


def get_patient_for_user(request: AuthedRequest, pk: int) -> Patient:
    """Patients are shared by the network's branches; the right to the module is checked by
    the view's decorator. Deleted cards are found only in the recycle bin."""
    try:
        return selectors.patient_for_card(pk)
    except Patient.DoesNotExist as exc:
        raise Http404 from exc


@module_required("patients", "view")
def patient_list(request: AuthedRequest) -> HttpResponseBase:
    patient_filter = PatientFilter(request.GET or None, queryset=selectors.patients_for_list())
    # The valid filters apply even if one is stale (a doctor since deleted): the search
    # must not silently widen to every patient; the form shows the bad one.
    patients = rows = patient_filter.qs
    if not request.GET.get("ordering"):
        patients = selectors.ranked(patients, request.GET.get("q", ""))
        rows = selectors.ranked_in_parts(rows, request.GET.get("q", ""))
    if fmt := export_requested(request):
        return _export(request, patients, fmt)
    context = {
        "filter": patient_filter,
        "page": paginate(request, rows, cap=selectors.LIST_CANDIDATES),
        "query_string": query_without_page(request),
    }
    if not request.htmx:
        context["list_actions"] = page_actions.shown_to(request.user, page_actions.LIST)
    template = "patients/list.html#results" if request.htmx else "patients/list.html"
    return render(request, template, context)


def _export(request: AuthedRequest, patients, fmt: str) -> HttpResponseBase:
    if not has_module_perm(request.user, "patients", "export"):
        return HttpResponse(_("You do not have the right to export patients."), status=403)
    if fmt == "xlsx" and patients[: EXPORT_LIMIT_XLSX + 1].count() > EXPORT_LIMIT_XLSX:
        messages.error(
            request,
            _("More than %(limit)s patients: narrow the filters or export CSV.")
            % {"limit": f"{EXPORT_LIMIT_XLSX:,}".replace(",", " ")},
        )
        return done(request, f"{reverse('patients:list')}?{query_without_page(request)}")
    audit.record(
        actor=request.user, action="view", object_repr=f"export {fmt}: {request.GET.urlencode()}"
    )
    headers = [
        _("Card"),
        _("Last name"),
        _("First name"),
        _("Patronymic"),
        _("Phone"),
        _("Email"),
        _("Date of birth"),
        _("Branch"),
        _("Attending doctor"),
        _("Coordinator"),
        _("Marketing channel"),
        _("Patient group"),
        _("Created"),
    ]
    rows = (
        [
            p.card_number,
            p.last_name,
            p.first_name,
            p.middle_name,
            format_phone(p.phone),
            p.email,
            p.birth_date,
            p.branch.name if p.branch else "",
            str(p.attending_doctor or ""),
            str(p.coordinator or ""),
            str(p.marketing_channel or ""),
            str(p.patient_group or ""),
            p.created_at,
        ]
        for p in patients.iterator(chunk_size=2000)
    )
    return export_response(fmt=fmt, filename="patients", headers=headers, rows=rows)


@module_required("patients", "view")
def patient_quick_search(request: AuthedRequest) -> HttpResponse:
    # Stripped here, so the template's own "at least 2 characters" agrees with the search.
    query = request.GET.get("q", "").strip()
    results = (
        selectors.patient_search(query, limit=10, zone=request_zone(request))
        if len(query) >= 2
        else []
    )
    # Counted only when the lines are full, and only up to the cap: never every match.
    cap = selectors.SEARCH_COUNT_CAP
    matches = selectors.patient_search_count(query, cap=cap) if len(results) == 10 else len(results)
    context = {
        "results": results,
        "query": query,
        "more": max(matches - len(results), 0),
        "more_than": cap if matches > cap else 0,
    }
    return render(request, "patients/quick_search.html", context)


@module_required("patients", "change")
def patient_create(request: AuthedRequest) -> HttpResponse:
    form = PatientForm(request.POST or None, prefix="patient")
    duplicates: list[Patient] = []
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_create(
                by=request.user,
                data=form.patient_data(),
                confirm_duplicate=form.cleaned_data["confirm_duplicate"],
            )
        except services.PossibleDuplicates as exc:
            duplicates = exc.duplicates
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(
                request,
                _("Card № %(number)s created for %(name)s.")
                % {"number": patient.card_number, "name": patient.full_name},
            )
            if request.POST.get("then") == "close":
                # Opened from another screen (the calendar): hand the new card back to it,
                # with the message as a toast (a 204 has no page to show it on).
                return close_dialog(
                    request=request,
                    patientCreated={
                        "id": patient.pk,
                        "name": patient.full_name,
                        "card": patient.card_number,
                    },
                )
            return done(request, patient.get_absolute_url())
    # The panel posts "then" back in its form; keep it through a re-render (duplicates, errors).
    then = request.POST.get("then") or request.GET.get("then", "")
    context = {"form": form, "duplicates": duplicates, "then": then}
    status = 422 if form.errors else 200
    template = "patients/create.html#panel" if request.htmx else "patients/create.html"
    return render(request, template, context, status=status)


@module_required("patients", "view")
def patient_duplicates(request: AuthedRequest) -> HttpResponse:
    """Live check while the form is being filled: who already has this phone, name, SNILS
    or INN."""
    form = PatientForm(request.GET, prefix="patient")
    form.is_valid()
    data = form.cleaned_data
    duplicates = services.find_duplicates(
        phone=data.get("phone", ""),
        last_name=data.get("last_name", ""),
        first_name=data.get("first_name", ""),
        birth_date=data.get("birth_date"),
        snils=data.get("snils", ""),
        inn=data.get("inn", ""),
        exclude_pk=parse_id(request.GET.get("exclude")),
    )
    return render(request, "patients/create.html#duplicates", {"duplicates": list(duplicates)})


def _card_context(request: AuthedRequest, patient: Patient, section: str) -> dict:
    months = int(preferences.get("patients.returning_after_months"))
    status = patient.status_at(timezone.now(), months)
    return {
        "patient": patient,
        "section": section,
        "sections": SECTIONS,
        "status": PatientStatus(status),
        "family_members": selectors.family_members(patient),
        **_timeline_context(request, patient),
        "portal": getattr(patient, "portal_account", None),
        "representative": getattr(patient, "representative", None),
        "panels": card_panels.shown_to(request.user, patient.pk),
        "stat_panels": card_panels.shown_to(request.user, patient.pk, "stats"),
        "card_actions": page_actions.shown_to(request.user, page_actions.CARD, patient.pk),
    }


TIMELINE_PAGE = 50


def _timeline_context(request: AuthedRequest, patient: Patient) -> dict:
    """The events the user may see, of the kind asked for (``?kind=``), a page at a time
    (``?page=``)."""
    kinds = timeline.kinds_for(request.user)
    kind = request.GET.get("kind", "")
    kind = kind if any(k.key == kind for k in kinds) else ""
    page = min(parse_id(request.GET.get("page")) or 1, 1000)
    entries, more = selectors.timeline_for(
        patient,
        request.user,
        kind=kind or None,
        offset=(page - 1) * TIMELINE_PAGE,
        limit=TIMELINE_PAGE,
    )
    return {
        "timeline": [(entry, *timeline.render(entry)) for entry in entries],
        "timeline_kinds": kinds,
        "timeline_kind": kind,
        "timeline_next": page + 1 if more else None,
    }


@module_required("patients", "view")
def patient_timeline(request: AuthedRequest, pk: int) -> HttpResponse:
    """The card's events again (the card reloads them when told of a new one), or the next
    page of them (``?page=``)."""
    patient = get_patient_for_user(request, pk)
    context = {"patient": patient, **_timeline_context(request, patient)}
    return render(request, "patients/card.html#timeline-entries", context)


@module_required("patients", "view")
def patient_card(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    audit.record_viewed(
        actor=request.user,
        obj=patient,
        patient_id=patient.pk,
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    return render(request, "patients/card.html", _card_context(request, patient, "main"))


@module_required("patients", "view")
def patient_section(request: AuthedRequest, pk: int, section: str) -> HttpResponse:
    if section not in dict((key, label) for key, label, _icon in SECTIONS) or section == "main":
        raise Http404
    patient = get_patient_for_user(request, pk)
    # Every section shows the card's personal data (and later its medical record).
    audit.record_viewed(
        actor=request.user,
        obj=patient,
        patient_id=patient.pk,
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    context = _card_context(request, patient, section)
    context["section_module"] = SECTION_MODULES.get(section)
    context["section_filled"] = card_sections.shown(request.user, section, patient.pk)
    return render(request, "patients/card.html", context)


def _edited(form) -> dict:
    """What the user changed of what the form showed them (each field posts the value it was
    shown with, ``show_hidden_initial``): a card saved from a page opened before somebody
    else's change (a colleague's, amoCRM's) does not write the old values back over it. A
    post without a field's shown value (an older page, a script) writes that field."""
    changed = set(form.changed_data)
    return {
        name: value
        for name, value in form.cleaned_data.items()
        if name in changed or form[name].html_initial_name not in form.data
    }


def _edit_block(request: AuthedRequest, pk: int, form_class, block: str) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    if request.method == "GET":
        form = form_class(instance=patient, prefix=block, keep_shown_values=True)
        return render(
            request, f"patients/card.html#{block}-form", {"patient": patient, "form": form}
        )
    form = form_class(
        request.POST,
        instance=get_patient_for_user(request, pk),
        prefix=block,
        keep_shown_values=True,
    )
    if form.is_valid():
        try:
            patient, changes = services.patient_update(
                patient=patient, by=request.user, data=_edited(form)
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            if changes:
                messages.success(request, _("Changes saved."))
            return done(request, patient.get_absolute_url())
    return render(
        request, f"patients/card.html#{block}-form", {"patient": patient, "form": form}, status=422
    )


@module_required("patients", "change")
def patient_profile_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    return _edit_block(request, pk, PatientProfileForm, "profile")


@module_required("patients", "change")
def patient_info_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    return _edit_block(request, pk, PatientInfoForm, "info")


@module_required("patients", "change")
def representative_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    current = getattr(patient, "representative", None)
    form = RepresentativeForm(request.POST or None, instance=current, prefix="representative")
    if request.method == "POST" and form.is_valid():
        try:
            services.representative_save(patient=patient, by=request.user, data=form.cleaned_data)
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("Changes saved."))
            return done(request, patient.get_absolute_url())
    context = {"patient": patient, "form": form}
    status = 422 if form.errors else 200
    return render(request, "patients/card.html#representative-form", context, status=status)


@require_POST
@module_required("patients", "change")
def representative_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    services.representative_remove(patient=patient, by=request.user)
    messages.success(request, _("The legal representative was removed from the card."))
    return done(request, patient.get_absolute_url())


@module_required("patients", "delete")
def patient_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    return delete_with_confirmation(
        request,
        patient,
        title=_("Delete the card"),
        question=_("Move the card of %(name)s to the recycle bin? It can be restored from there.")
        % {"name": patient.full_name},
        delete=lambda confirm: services.patient_delete(
            patient=patient, by=request.user, confirm=confirm
        ),
        deleted=_("The card of %(name)s moved to the recycle bin.") % {"name": patient},
        undo_section="patients",
        next_url=reverse("patients:list"),
    )


# --- Family ----------------------------------------------------------------------------


@module_required("patients", "change")
def family_create(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    form = FamilyCreateForm(
        request.POST or None, initial={"name": _("Family %(name)s") % {"name": patient.last_name}}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.family_create(patient=patient, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("Family created."))
            return done(request, patient.get_absolute_url())
    return render(
        request,
        "patients/family_form.html",
        {"patient": patient, "form": form},
        status=422 if form.errors else 200,
    )


@module_required("patients", "change")
def family_join(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    query = request.GET.get("q", "").strip()
    if request.method == "POST":
        form = FamilyJoinForm(request.POST)
        if not form.is_valid():
            context = {"patient": patient, "families": [], "query": "", "errors": form.errors}
            return render(request, "patients/family_join.html", context, status=422)
        try:
            services.family_join(
                patient=patient, family=form.cleaned_data["family"], by=request.user
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, _("%(name)s joined the family.") % {"name": patient.short_name}
            )
        return done(request, patient.get_absolute_url())
    families = _family_search(query) if len(query) >= 2 else []
    template = (
        "patients/family_join.html#results"
        if request.htmx and query
        else "patients/family_join.html"
    )
    return render(request, template, {"patient": patient, "families": families, "query": query})


def _family_search(query: str) -> list[Family]:
    from django.db.models import Prefetch, Q

    condition = selectors.search_condition(query)
    member_ids = (
        Patient.objects.filter(condition).values("family_id") if condition is not None else []
    )
    families = Family.objects.filter(
        Q(name__icontains=query) | Q(card_number=query) | Q(pk__in=member_ids)
    ).prefetch_related(Prefetch("members", queryset=Patient.objects.order_by("birth_date")))
    return list(families.order_by("name")[:10])


@require_POST
@module_required("patients", "change")
def family_leave(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    services.family_leave(patient=patient, by=request.user)
    messages.success(request, _("%(name)s left the family.") % {"name": patient.short_name})
    return done(request, patient.get_absolute_url())


# --- Portal account --------------------------------------------------------------------


@module_required("patients", "change")
def portal_activate(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    form = PortalActivateForm(
        request.POST or None, initial={"login": patient.phone or patient.email}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.portal_activate(
                patient=patient, by=request.user, login=form.cleaned_data["login"]
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("The patient's account is active."))
            return done(request, patient.get_absolute_url())
    return render(
        request,
        "patients/portal_form.html",
        {"patient": patient, "form": form},
        status=422 if form.errors else 200,
    )


@require_POST
@module_required("patients", "change")
def portal_deactivate(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    services.portal_deactivate(patient=patient, by=request.user)
    messages.success(request, _("The patient's account is deactivated."))
    return done(request, patient.get_absolute_url())
