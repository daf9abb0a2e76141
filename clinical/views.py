"""The card's Diagnostics section (registered with ``patients.card_sections``): the dental
chart, now or on a past date, the form that sets a diagnosis and a state on the selected
teeth, and the list of current diagnoses by tooth with their remove buttons."""

import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from clinic import teeth, tz
from clinic.bounds import InputRefused, date_param
from clinic.permissions import AuthedRequest, has_module_perm, module_required
from clinical import selectors, services
from clinical.access import card_patient, require_card_access
from clinical.forms import ChartRecordForm
from clinical.models import ToothRecord, ToothState
from patients.models import Patient

NO_DATE = datetime.date.min


def _patient(request: AuthedRequest, pk: int) -> Patient:
    return card_patient(request, pk, Patient.objects.only("pk"))


def _dentition(request: AuthedRequest, data) -> str:
    value = data.get("dentition") or teeth.Dentition.PERMANENT
    if value not in teeth.Dentition.values:
        raise InputRefused(_("Unknown dentition."))
    return value


def _zone(request: AuthedRequest) -> zoneinfo.ZoneInfo:
    return tz.request_zone(request) or zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _moment(request: AuthedRequest, day: datetime.date) -> datetime.datetime:
    return tz.local_day_bounds(day, _zone(request))[1] - datetime.timedelta(microseconds=1)


def _render_chart(
    request: AuthedRequest,
    patient: Patient,
    *,
    dentition: str,
    day: datetime.date | None = None,
    form: ChartRecordForm | None = None,
    status: int = 200,
) -> HttpResponse:
    records = selectors.chart_records(patient.pk, moment=_moment(request, day) if day else None)
    shown = selectors.teeth_on_chart(records)
    can_change = day is None and has_module_perm(request.user, "clinical", "change")
    if can_change and form is None:
        form = ChartRecordForm(initial={"dentition": dentition})
    context = {
        "patient": patient,
        "dentition": dentition,
        "dentitions": teeth.Dentition.choices,
        "day": day,
        "rows": [
            [
                [shown.get(number) or selectors.ToothOnChart(number) for number in half]
                for half in row
            ]
            for row in teeth.rows(dentition)
        ],
        "states": ToothState.choices,
        "by_tooth": selectors.diagnoses_by_tooth(shown, _zone(request)),
        "can_change": can_change,
        "form": form,
        # A refused selection stays selected, to be corrected rather than picked again.
        "selected": set(request.POST.getlist("teeth"))
        if form is not None and form.is_bound
        else (),
        # The surfaces' boxes are written in the template: the widget renders each through
        # a template of its own, a tenth of the tab's time.
        "surface_choices": teeth.Surface.choices,
        "surfaces_ticked": set(request.POST.getlist("surfaces"))
        if form is not None and form.is_bound
        else (),
    }
    return render(request, "clinical/chart.html", context, status=status)


@require_GET
@module_required("clinical", "view")
def chart(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk)
    day = date_param(request, "on", NO_DATE)
    return _render_chart(
        request,
        patient,
        dentition=_dentition(request, request.GET),
        day=None if day in (NO_DATE, timezone.localdate()) else day,
    )


@require_POST
@module_required("clinical", "change")
def chart_add(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk)
    dentition = _dentition(request, request.POST)
    form = ChartRecordForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.chart_records_add(
                patient=patient,
                teeth_numbers=data["teeth"],
                dentition=data["dentition"],
                diagnosis=data["diagnosis"],
                state=data["state"],
                surfaces=data["surfaces"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            response = _render_chart(request, patient, dentition=dentition)
            response["HX-Trigger"] = "chartChanged"
            return response
    return _render_chart(request, patient, dentition=dentition, form=form, status=422)


@require_POST
@module_required("clinical", "change")
def record_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    require_card_access(request)
    record = get_object_or_404(
        ToothRecord.objects.current().filter(patient__deleted_at__isnull=True), pk=pk
    )
    services.chart_record_remove(record=record, by=request.user)
    response = _render_chart(
        request, _patient(request, record.patient_id), dentition=_dentition(request, request.POST)
    )
    response["HX-Trigger"] = "chartChanged"
    return response
