"""The patient-app accounts in amoCRM from the patients' screens: the card's "Update app
account in CRM" (at once, after a confirmation) and the list's "Sync app accounts" (a dialog
choosing the days of activation, then a background run with a progress bar and a summary).

Both need the right that runs the amoCRM syncs (``SYNC_RIGHT``, as "Sync now" and the
initial sync) and the right to see patients; both are shown only while the feature is on
(a contact field chosen in the wizard).
"""

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from clinic.htmx import done
from clinic.permissions import AuthedRequest, has_module_perm, module_required
from integrations.amocrm import app_accounts, setup
from integrations.amocrm.config import SYSTEM
from integrations.amocrm.forms import AppAccountsRangeForm
from integrations.amocrm.sync import active_connection
from integrations.http import IntegrationError
from integrations.models import Connection, SyncJob
from patients.views import get_patient_for_user

SYNC_RIGHT = ("settings", "change")


def feature_connection() -> Connection | None:
    """The connection to write app accounts on: connected, set up, a field chosen."""
    connection = active_connection()
    return connection if app_accounts.field_id(connection) else None


def feature_on() -> bool:
    return feature_connection() is not None


def _may_see_patients(request: AuthedRequest) -> None:
    if not has_module_perm(request.user, "patients", "view"):
        raise PermissionDenied


@require_POST
@module_required(*SYNC_RIGHT)
def card_update(request: AuthedRequest, pk: int) -> HttpResponse:
    _may_see_patients(request)
    patient = get_patient_for_user(request, pk)
    connection = feature_connection()
    if connection is None:
        messages.error(request, _("App accounts are not written to amoCRM: see its setup."))
        return done(request, patient.get_absolute_url())
    try:
        result = app_accounts.sync_one(connection, patient)
    except IntegrationError as error:
        messages.error(
            request,
            _("The app account was not written: %(reason)s")
            % {"reason": setup.failure_message(error)},
        )
        return done(request, patient.get_absolute_url())
    if result.written:
        messages.success(request, _("App account written to amoCRM."))
    elif result.up_to_date:
        messages.success(request, _("amoCRM already has this app account."))
    elif result.failed:
        messages.error(request, _("amoCRM refused the app account; see the sync log."))
    else:
        reason = next(iter(result.skipped), app_accounts.NO_ACCOUNT)
        messages.error(request, CARD_SKIPPED[reason])
    return done(request, patient.get_absolute_url())


# The card's messages when nothing was written: whole sentences (the list's short reasons
# after "The app account was not written:" read twice "not ... written" in Russian).
CARD_SKIPPED = {
    app_accounts.NO_ACCOUNT: gettext_lazy(
        "The patient has no app account: there is nothing to write to amoCRM."
    ),
    app_accounts.NEVER_BOOKED: gettext_lazy(
        "The app account was not sent to amoCRM: the patient has no visit booked yet."
    ),
    app_accounts.NO_CONTACT: gettext_lazy(
        "The app account was not sent to amoCRM: the patient has no amoCRM contact yet."
    ),
}


def _job_url(job: SyncJob) -> str:
    return reverse("integrations:amocrm-app-accounts-job", args=[job.pk])


@module_required(*SYNC_RIGHT)
def list_sync(request: AuthedRequest) -> HttpResponse:
    _may_see_patients(request)
    connection = feature_connection()
    if connection is None:
        messages.error(request, _("App accounts are not written to amoCRM: see its setup."))
        return done(request, reverse("patients:list"))
    today = timezone.now().astimezone(app_accounts.clinic_zone()).date()
    form = AppAccountsRangeForm(
        request.POST or None,
        today=today,
        initial={"date_from": today - datetime.timedelta(days=30), "date_to": today},
    )
    running = app_accounts.running_job()
    if request.method == "POST" and form.is_valid():
        if running is not None:
            messages.error(request, _("A sync of app accounts is already under way."))
            return done(request, _job_url(running))
        job = app_accounts.job_start(connection, by=request.user, **form.cleaned_data)
        return done(request, _job_url(job))
    context = {"form": form, "running": running}
    status = 422 if form.errors else 200
    return render(request, "integrations/amocrm/app_accounts_form.html", context, status=status)


@module_required(*SYNC_RIGHT)
def job_page(request: AuthedRequest, pk: int) -> HttpResponse:
    _may_see_patients(request)
    job = SyncJob.objects.filter(pk=pk, system=SYSTEM, kind=app_accounts.KIND).first()
    if job is None:
        raise Http404
    summary = {**app_accounts.empty_summary(), **job.preview}
    skipped = [
        {
            "reason": label,
            "count": summary["skipped"].get(reason, 0),
            "patients": summary["named"].get(reason, []),
        }
        for reason, label in app_accounts.SKIP_REASONS.items()
        if summary["skipped"].get(reason)
    ]
    context = {
        "job": job,
        "summary": summary,
        "skipped": skipped,
        "skipped_total": sum(group["count"] for group in skipped),
        "polling": job.is_running,
        "date_from": _day(job.cursor.get("from")),
        "date_to": _day(job.cursor.get("to")),
    }
    template = "integrations/amocrm/app_accounts_job.html"
    return render(request, f"{template}#job" if request.htmx else template, context)


def _day(value) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        return None
