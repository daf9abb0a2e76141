"""The card's Medical history section (registered with ``patients.card_sections``): the
patient's records filtered by date and doctor, the record form with its templates, signing,
the correction of a signed record and its print."""

import datetime

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.bounds import date_param, parse_id
from clinic.lists import paginate, query_without_page
from clinic.models import Employee
from clinic.permissions import AuthedRequest, has_module_perm, module_required
from clinical import records
from clinical.access import card_patient, require_card_access
from clinical.models import Diagnosis, MedicalRecord, RecordSection
from clinical.record_forms import MedicalRecordForm, template_choices
from documents import rendering
from documents.context import build_context
from documents.views import pdf_response

NO_DATE = datetime.date.min
PER_PAGE = 10


def _record(request: AuthedRequest, pk: int) -> MedicalRecord:
    require_card_access(request)
    return get_object_or_404(
        MedicalRecord.objects.filter(patient__deleted_at__isnull=True).select_related(
            "patient", "doctor"
        ),
        pk=pk,
    )


def _with_details(rows):
    return rows.select_related("doctor", "appointment").prefetch_related(
        Prefetch("diagnoses", queryset=Diagnosis.all_objects.order_by("code"))
    )


@require_GET
@module_required("clinical", "view")
def history(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = card_patient(request, pk)
    rows = _with_details(MedicalRecord.objects.current().filter(patient=patient))
    since = date_param(request, "since", NO_DATE)
    until = date_param(request, "until", NO_DATE)
    if since != NO_DATE:
        rows = rows.filter(recorded_on__gte=since)
    if until != NO_DATE:
        rows = rows.filter(recorded_on__lte=until)
    doctor_id = request.GET.get("doctor", "")
    if doctor_id:
        rows = rows.filter(doctor_id=parse_id(doctor_id) or 0)
    doctors = Employee.all_objects.filter(
        pk__in=MedicalRecord.objects.filter(patient=patient).values("doctor_id")
    )
    return render(
        request,
        "clinical/history.html",
        {
            "patient": patient,
            "page": paginate(request, rows.order_by("-recorded_on", "-pk"), PER_PAGE),
            "query_string": query_without_page(request),
            "since": "" if since == NO_DATE else since.isoformat(),
            "until": "" if until == NO_DATE else until.isoformat(),
            "doctor_id": doctor_id,
            "doctors": doctors,
            "can_change": has_module_perm(request.user, "clinical", "change"),
            "user_id": request.user.pk,
            "is_superuser": request.user.is_superuser,
        },
    )


def _templates_json() -> list[dict]:
    return [
        {
            "id": template.pk,
            "name": template.name,
            "profession": template.profession.name,
            **{name: getattr(template, name) for name in RecordSection.values},
        }
        for template in template_choices()
    ]


def _card_url(patient_id: int) -> str:
    return reverse("patients:section", kwargs={"pk": patient_id, "section": "history"})


def _form_view(request, patient, *, initial, title: str, save, record=None, correction=False):
    """The record form: on a valid POST ``save(data, diagnoses, cleaned_data)`` writes
    through a service and the card's tab opens again; refused input shows the form (422)."""
    form = MedicalRecordForm(
        request.POST or None,
        user=request.user,
        patient=patient,
        initial=initial,
        correction=correction,
    )
    if form.is_bound and form.is_valid():
        try:
            saved = save(form.record_data(), form.cleaned_data["diagnoses"], form.cleaned_data)
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            return redirect(_card_url(saved.patient_id))
    return render(
        request,
        "clinical/record_form.html",
        {
            "form": form,
            "patient": patient,
            "record": record,
            "title": title,
            "templates": _templates_json(),
            "back": _card_url(patient.pk),
        },
        status=422 if form.is_bound else 200,
    )


@require_http_methods(["GET", "POST"])
@module_required("clinical", "change")
def record_new(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = card_patient(request, pk)
    employee = Employee.objects.filter(user=request.user).doctors().first()
    initial = {"recorded_on": timezone.localdate(), "doctor": employee}
    visit = parse_id(request.GET.get("visit", ""))
    if visit:
        initial["appointment"] = visit
    return _form_view(
        request,
        patient,
        initial=initial,
        title=_("New medical record"),
        save=lambda data, diagnoses, _cleaned: records.record_create(
            patient=patient, data=data, diagnoses=diagnoses, by=request.user
        ),
    )


def _initial(record: MedicalRecord) -> dict:
    return {
        "recorded_on": record.recorded_on,
        "doctor": record.doctor_id,
        "appointment": record.appointment_id,
        "teeth": record.teeth.replace(",", ", "),
        "diagnoses": list(record.diagnoses.values_list("pk", flat=True)),
        **{name: getattr(record, name) for name in RecordSection.values},
    }


@require_http_methods(["GET", "POST"])
@module_required("clinical", "change")
def record_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    record = _record(request, pk)
    if record.is_signed:
        return HttpResponse(
            _("This record is signed and cannot be edited: correct it with a reason instead."),
            status=409,
        )
    return _form_view(
        request,
        record.patient,
        initial=_initial(record),
        record=record,
        title=_("Medical record of %(day)s") % {"day": f"{record.recorded_on:%d.%m.%Y}"},
        save=lambda data, diagnoses, _cleaned: records.record_update(
            record=record, data=data, diagnoses=diagnoses, by=request.user
        ),
    )


@require_http_methods(["GET", "POST"])
@module_required("clinical", "change")
def record_correct(request: AuthedRequest, pk: int) -> HttpResponse:
    record = _record(request, pk)
    if not record.is_signed or record.superseded_at is not None:
        return HttpResponse(
            _("Only the latest signed version of a record is corrected."), status=409
        )
    return _form_view(
        request,
        record.patient,
        initial=_initial(record),
        record=record,
        correction=True,
        title=_("Correction of the medical record of %(day)s")
        % {"day": f"{record.recorded_on:%d.%m.%Y}"},
        save=lambda data, diagnoses, cleaned: records.record_correct(
            record=record, data=data, diagnoses=diagnoses, reason=cleaned["reason"], by=request.user
        ),
    )


@require_POST
@module_required("clinical", "change")
def record_sign(request: AuthedRequest, pk: int) -> HttpResponse:
    record = _record(request, pk)
    try:
        records.record_sign(record=record, by=request.user)
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=409)
    return redirect(_card_url(record.patient_id))


@require_GET
@module_required("clinical", "view")
def record_versions(request: AuthedRequest, pk: int) -> HttpResponse:
    record = _record(request, pk)
    chain = []
    current: MedicalRecord | None = record
    while current is not None:
        chain.append(current)
        current = (
            _with_details(MedicalRecord.objects.filter(pk=current.previous_id)).first()
            if current.previous_id
            else None
        )
    return render(
        request,
        "clinical/record_versions.html",
        {
            "record": record,
            "versions": chain,
            "patient": record.patient,
            "back": _card_url(record.patient_id),
        },
    )


@require_GET
@module_required("clinical", "view")
def record_print(request: AuthedRequest, pk: int) -> HttpResponse:
    record = _record(request, pk)
    context = build_context(record.patient, user=request.user, branch=request.branch)
    piece = rendering.layout_piece("medical_record", record, context)
    pdf = rendering.render([piece], context.organization)[0].pdf
    return pdf_response(pdf, f"{piece.title}.pdf")
