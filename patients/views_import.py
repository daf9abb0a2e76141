from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic.htmx import done
from clinic.lists import export_response
from clinic.permissions import AuthedRequest, module_required
from patients import services
from patients.forms import ImportUploadForm
from patients.imports import TEMPLATE_HEADERS
from patients.models import PatientImport


@module_required("patients", "import")
def import_start(request: AuthedRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = services.patient_import_start(by=request.user, upload=form.cleaned_data["file"])
        return done(request, reverse("patients:import-detail", args=[job.pk]))
    recent = PatientImport.objects.select_related("created_by")[:10]
    return render(
        request,
        "patients/import.html",
        {"form": form, "recent": recent, "keep_days": settings.PATIENT_IMPORT_KEEP_FILES_DAYS},
        status=422 if form.errors else 200,
    )


@module_required("patients", "import")
def import_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(PatientImport, pk=pk)
    template = "patients/import_detail.html#job" if request.htmx else "patients/import_detail.html"
    return render(request, template, {"job": job})


def _job_step(request: AuthedRequest, pk: int, step) -> HttpResponse:
    """Run a job step (a service); its refusal is shown on the job's page."""
    job = get_object_or_404(PatientImport, pk=pk)
    try:
        step(job=job, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return done(request, reverse("patients:import-detail", args=[pk]))


@require_POST
@module_required("patients", "import")
def import_confirm(request: AuthedRequest, pk: int) -> HttpResponse:
    return _job_step(request, pk, services.patient_import_confirm)


@require_POST
@module_required("patients", "import")
def import_resume(request: AuthedRequest, pk: int) -> HttpResponse:
    return _job_step(request, pk, services.patient_import_resume)


@require_POST
@module_required("patients", "import")
def import_give_up(request: AuthedRequest, pk: int) -> HttpResponse:
    return _job_step(request, pk, services.patient_import_give_up)


@require_POST
@module_required("patients", "import")
def import_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(PatientImport, pk=pk)
    if services.patient_import_cancel(job=job, by=request.user):
        messages.success(request, _("Import cancelled; nothing was changed."))
    return done(request, reverse("patients:import"))


@module_required("patients", "import")
def import_template(request: AuthedRequest) -> HttpResponseBase:
    example = [
        "Иванова",
        "Мария",
        "Петровна",
        "+7 912 345-67-89",
        "maria@example.ru",
        "14.03.1986",
        "Женский",
        "",
        "",
        "",
        "",
        "г. Москва, ул. Ленина, д. 1, кв. 2",
        "",
        "Сайт клиники",
        "Терапия",
        "",
    ]
    return export_response(
        fmt="xlsx",
        filename="patients-import-template",
        headers=TEMPLATE_HEADERS,
        rows=[example],
        stamped=False,
    )
