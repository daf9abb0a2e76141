"""The card's Periodontal chart section (registered with ``patients.card_sections``): the
patient's exams, the keyboard entry grid (new and edit), an exam, two exams compared, the
print. Rules and bounds live in ``clinical.perio``."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.bounds import InputRefused, parse_id
from clinic.models import Employee
from clinic.permissions import AuthedRequest, has_module_perm, module_required
from clinical import perio
from clinical.access import card_patient, require_card_access
from clinical.models import PerioExam
from clinical.record_forms import PerioExamForm
from documents import rendering
from documents.context import build_context
from documents.views import pdf_response
from patients.models import Patient

LISTED = 50


def _exam(request: AuthedRequest, pk: int) -> PerioExam:
    require_card_access(request)
    return get_object_or_404(
        PerioExam.objects.filter(patient__deleted_at__isnull=True).select_related(
            "patient", "doctor", "appointment"
        ),
        pk=pk,
    )


def _card_url(patient_id: int) -> str:
    return reverse("patients:section", kwargs={"pk": patient_id, "section": "perio"})


@require_GET
@module_required("clinical", "view")
def exams(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = card_patient(request, pk)
    exams = list(
        PerioExam.objects.filter(patient=patient)
        .select_related("doctor")
        .defer("measurements", "note")
        .order_by("-examined_on", "-pk")[:LISTED]
    )
    return render(
        request,
        "clinical/perio.html",
        {
            "patient": patient,
            "exams": exams,
            "can_change": has_module_perm(request.user, "clinical", "change"),
        },
    )


def _grid_view(request, patient, *, exam=None, initial, measurements, missing, title):
    form = PerioExamForm(request.POST or None, user=request.user, patient=patient, initial=initial)
    status = 200
    if form.is_bound:
        status = 422
        grid: MultiValueDict = MultiValueDict()
        try:
            grid = perio.grid_fields(request.POST.get("grid", ""))
            measurements, missing = perio.parse_grid(grid, grid.getlist)
        except ValidationError as error:
            form.add_errors_from(error)
            measurements, missing = perio.posted_as_typed(grid, grid.getlist)
        else:
            if form.is_valid():
                data = {
                    **form.cleaned_data,
                    "measurements": measurements,
                    "missing": missing,
                }
                try:
                    if exam is None:
                        saved = perio.perio_exam_create(patient=patient, data=data, by=request.user)
                    else:
                        saved = perio.perio_exam_update(exam=exam, data=data, by=request.user)
                except ValidationError as error:
                    form.add_errors_from(error)
                else:
                    return redirect("clinical:perio-exam", saved.pk)
    rows = perio.tooth_rows(measurements, missing)
    return render(
        request,
        "clinical/perio_form.html",
        {
            "form": form,
            "patient": patient,
            "exam": exam,
            "title": title,
            "jaws": perio.jaws(rows),
            "mode": "edit",
            "walk": [f"{tooth}-{site}" for tooth, site in perio.walk()],
            "back": _card_url(patient.pk),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@module_required("clinical", "change")
def perio_new(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = card_patient(request, pk)
    employee = Employee.objects.filter(user=request.user).doctors().first()
    initial = {"examined_on": timezone.localdate(), "doctor": employee}
    visit = parse_id(request.GET.get("visit", ""))
    if visit:
        initial["appointment"] = visit
    return _grid_view(
        request,
        patient,
        initial=initial,
        measurements={},
        missing=perio.chart_missing_teeth(patient.pk),
        title=_("New periodontal exam"),
    )


@require_http_methods(["GET", "POST"])
@module_required("clinical", "change")
def perio_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    exam = _exam(request, pk)
    return _grid_view(
        request,
        exam.patient,
        exam=exam,
        initial={
            "examined_on": exam.examined_on,
            "doctor": exam.doctor_id,
            "appointment": exam.appointment_id,
            "note": exam.note,
        },
        measurements=exam.measurements,
        missing=exam.missing,
        title=_("Periodontal exam of %(day)s") % {"day": f"{exam.examined_on:%d.%m.%Y}"},
    )


@require_GET
@module_required("clinical", "view")
def perio_exam(request: AuthedRequest, pk: int) -> HttpResponse:
    exam = _exam(request, pk)
    return render(
        request,
        "clinical/perio_exam.html",
        {
            "exam": exam,
            "patient": exam.patient,
            "jaws": perio.jaws(perio.tooth_rows(exam.measurements, exam.missing)),
            "mode": "view",
            "summary": perio.summary(exam),
            "can_change": has_module_perm(request.user, "clinical", "change"),
            "back": _card_url(exam.patient_id),
        },
    )


def _chosen(request: AuthedRequest, patient: Patient) -> tuple[PerioExam, PerioExam] | None:
    """The two exams to compare, older first: ``?a=&b=`` (the patient's), else the last two."""
    exams = PerioExam.objects.filter(patient=patient).select_related("doctor")
    a, b = request.GET.get("a", ""), request.GET.get("b", "")
    if a or b:
        first, second = parse_id(a), parse_id(b)
        if first is None or second is None or first == second:
            raise InputRefused(_("Choose two different exams to compare."))
        ids = [first, second]
        found = list(exams.filter(pk__in=ids))
        if len(found) != 2:
            raise InputRefused(_("These exams are not the patient's."))
    else:
        found = list(exams.order_by("-examined_on", "-pk")[:2])
        if len(found) < 2:
            return None
    older, newer = sorted(found, key=lambda e: (e.examined_on, e.pk))
    return older, newer


@require_GET
@module_required("clinical", "view")
def perio_compare(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = card_patient(request, pk)
    pair = _chosen(request, patient)
    context: dict = {"patient": patient, "back": _card_url(patient.pk), "mode": "compare"}
    if pair is not None:
        older, newer = pair
        rows = perio.compare(older, newer)
        context.update(
            older=older,
            newer=newer,
            jaws=perio.jaws(rows),
            worse=[
                (row.number, site)
                for row in rows.values()
                for site in row.sites
                if site.worse or site.new_bleeding
            ],
            summaries=[perio.summary(older), perio.summary(newer)],
        )
    return render(request, "clinical/perio_compare.html", context)


@require_GET
@module_required("clinical", "view")
def perio_print(request: AuthedRequest, pk: int) -> HttpResponse:
    exam = _exam(request, pk)
    context = build_context(exam.patient, user=request.user, branch=request.branch)
    piece = rendering.layout_piece("perio_exam", exam, context)
    pdf = rendering.render([piece], context.organization)[0].pdf
    return pdf_response(pdf, f"{piece.title}.pdf")


@require_POST
@module_required("clinical", "change")
def perio_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    exam = _exam(request, pk)
    perio.exam_delete(exam=exam, by=request.user)
    messages.success(
        request,
        _("The exam of %(date)s is in the recycle bin.") % {"date": f"{exam.examined_on:%d.%m.%Y}"},
    )
    return redirect(_card_url(exam.patient_id))
