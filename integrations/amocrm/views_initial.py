"""Settings -> Integrations -> amoCRM -> Initial sync: the dry run, then the run with its
progress bar (polled), pause and resume."""

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic.permissions import AuthedRequest, module_required
from integrations.amocrm import initial
from integrations.amocrm.config import SYSTEM
from integrations.amocrm.sync import active_connection
from integrations.models import SyncJob, SyncJobStatus


def _latest() -> SyncJob | None:
    return SyncJob.objects.filter(system=SYSTEM, kind="initial").order_by("-pk").first()


@module_required("settings", "view")
def initial_page(request: AuthedRequest) -> HttpResponse:
    job = _latest()
    context = {
        "job": job,
        "connection": active_connection(),
        "polling": job is not None
        and (
            job.status == SyncJobStatus.RUNNING
            or (job.status == SyncJobStatus.PREVIEW and not job.preview.get("ready"))
        ),
        "tab": "integrations",
    }
    if request.htmx:
        return render(request, "integrations/amocrm/initial.html#job", context)
    return render(request, "integrations/amocrm/initial.html", context)


def _back() -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("integrations:amocrm-initial"))


@require_POST
@module_required("settings", "change")
def initial_preview(request: AuthedRequest) -> HttpResponse:
    connection = active_connection()
    if connection is None:
        messages.error(request, _("Connect amoCRM and finish its setup first."))
        return _back()
    job = _latest()
    if job is not None and job.status in (SyncJobStatus.RUNNING, SyncJobStatus.PAUSED):
        messages.error(request, _("An initial sync is already under way."))
        return _back()
    initial.preview_start(connection, by=request.user)
    return _back()


def _job_or_404(pk: int) -> SyncJob | None:
    return SyncJob.objects.filter(pk=pk, system=SYSTEM, kind="initial").first()


@require_POST
@module_required("settings", "change")
def initial_start(request: AuthedRequest, pk: int) -> HttpResponse:
    job = _job_or_404(pk)
    if job is None:
        return HttpResponse(_("No such sync."), status=404)
    if job.status == SyncJobStatus.PREVIEW and not job.preview.get("ready"):
        messages.error(request, _("Wait for the preview to finish."))
        return _back()
    if active_connection() is None:
        messages.error(request, _("Connect amoCRM and finish its setup first."))
        return _back()
    initial.job_start(job, by=request.user)
    return _back()


@require_POST
@module_required("settings", "change")
def initial_pause(request: AuthedRequest, pk: int) -> HttpResponse:
    job = _job_or_404(pk)
    if job is None:
        return HttpResponse(_("No such sync."), status=404)
    initial.job_pause(job, by=request.user)
    messages.success(request, _("The sync is paused; resume it when you like."))
    return _back()
