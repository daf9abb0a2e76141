from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic.htmx import done
from clinic.jobs import enqueue
from clinic.lists import export_response
from clinic.permissions import AuthedRequest, module_required
from patients.forms import ImportUploadForm
from patients.imports import TEMPLATE_HEADERS
from patients.models import ImportStatus, PatientImport
from patients.tasks import patient_import_run, patient_import_validate


@module_required("patients", "import")
def import_start(request: AuthedRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with transaction.atomic():
            job = PatientImport.objects.create(
                file=upload, original_name=upload.name[:255], created_by=request.user
            )
            enqueue(patient_import_validate, job.pk)
        return done(request, reverse("patients:import-detail", args=[job.pk]))
    recent = PatientImport.objects.select_related("created_by")[:10]
    return render(
        request,
        "patients/import.html",
        {"form": form, "recent": recent},
        status=422 if form.errors else 200,
    )


@module_required("patients", "import")
def import_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(PatientImport, pk=pk)
    template = "patients/import_detail.html#job" if request.htmx else "patients/import_detail.html"
    return render(request, template, {"job": job})


@require_POST
@module_required("patients", "import")
def import_confirm(request: AuthedRequest, pk: int) -> HttpResponse:
    with transaction.atomic():
        job = get_object_or_404(PatientImport.objects.select_for_update(), pk=pk)
        if job.status != ImportStatus.PREVIEW:
            messages.error(request, _("This import is not waiting for confirmation."))
            return done(request, reverse("patients:import-detail", args=[pk]))
        job.status, job.processed_rows = ImportStatus.IMPORTING, 0
        job.save(update_fields=["status", "processed_rows"])
        enqueue(patient_import_run, job.pk)
    return done(request, reverse("patients:import-detail", args=[pk]))


@require_POST
@module_required("patients", "import")
def import_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    updated = PatientImport.objects.filter(
        pk=pk, status__in=[ImportStatus.VALIDATING, ImportStatus.PREVIEW]
    ).update(status=ImportStatus.CANCELLED)
    if updated:
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
