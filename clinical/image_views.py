"""The card's Images section (registered with ``patients.card_sections``): the upload form,
the grid of previews with a strip of the teeth that have images, the viewer, and the X-ray
log the law requires (who took which X-ray of whom, when, and the effective dose)."""

import datetime
from collections import Counter
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from clinic import files, teeth
from clinic.bounds import InputRefused, parse_id
from clinic.lists import export_requested, export_response, paginate, query_without_page
from clinic.models import Employee
from clinic.permissions import AuthedRequest, has_module_perm, module_required
from clinical import images
from clinical.access import card_patient, require_card_access
from clinical.image_forms import ImageUploadForm, XrayLogFilter
from clinical.models import ClinicalImage, ImageKind
from patients.models import Patient

PER_PAGE = 24
LOG_PER_PAGE = 50


def _image(request: AuthedRequest, pk: int) -> ClinicalImage:
    require_card_access(request)
    return get_object_or_404(
        ClinicalImage.objects.of_live_cards().select_related("taken_by", "appointment", "branch"),
        pk=pk,
    )


def _tooth(request: AuthedRequest) -> int | None:
    text = request.GET.get("tooth", "")
    if not text:
        return None
    number = parse_id(text)
    if number not in teeth.ALL_TEETH:
        raise InputRefused(
            _("There is no tooth %(tooth)s in the FDI numbering.") % {"tooth": text[:10]}
        )
    return number


def _render_tab(
    request: AuthedRequest,
    patient: Patient,
    *,
    form: ImageUploadForm | None = None,
    tooth: int | None = None,
    status: int = 200,
) -> HttpResponse:
    rows = ClinicalImage.objects.filter(patient=patient).select_related("taken_by", "branch")
    strip = Counter(
        number
        for text in rows.values_list("teeth", flat=True)
        for number in (int(t) for t in text.split(",") if t)
    )
    if tooth is not None:
        rows = rows.with_tooth(tooth)
    can_change = has_module_perm(request.user, "clinical", "change")
    if can_change and form is None:
        me = Employee.objects.filter(user=request.user).only("pk").first()
        form = ImageUploadForm(
            user=request.user, patient=patient, initial={"branch": request.branch, "taken_by": me}
        )
    context = {
        "patient": patient,
        "page": paginate(request, rows.order_by("-taken_at", "-pk"), PER_PAGE),
        "query_string": query_without_page(request),
        "strip": sorted(strip.items()),
        "tooth": tooth,
        "form": form,
        "can_change": can_change,
    }
    return render(request, "clinical/images.html", context, status=status)


@require_GET
@module_required("clinical", "view")
def images_tab(request: AuthedRequest, pk: int) -> HttpResponse:
    return _render_tab(request, card_patient(request, pk), tooth=_tooth(request))


@require_POST
@module_required("clinical", "change")
def image_upload(request: AuthedRequest, pk: int) -> HttpResponse:
    patient = card_patient(request, pk)
    form = ImageUploadForm(request.POST, request.FILES, user=request.user, patient=patient)
    if form.is_valid():
        try:
            images.image_add(
                patient=patient,
                upload=form.cleaned_data["file"],
                data=form.image_data(),
                branch=form.cleaned_data["branch"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            response = _render_tab(request, patient)
            response["HX-Trigger"] = "imagesChanged"
            return response
    return _render_tab(request, patient, form=form, status=422)


@require_GET
@module_required("clinical", "view")
def image_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    image = _image(request, pk)
    return render(
        request,
        "clinical/image_viewer.html",
        {
            "image": image,
            "file_url": files.url_for(image, "file"),
            "can_change": has_module_perm(request.user, "clinical", "change"),
        },
    )


@require_POST
@module_required("clinical", "change")
def image_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    image = _image(request, pk)
    images.image_delete(image=image, by=request.user)
    response = _render_tab(request, card_patient(request, image.patient_id))
    response["HX-Trigger"] = "imagesChanged, closeDialog"
    return response


# --- The X-ray log -----------------------------------------------------------------------


def _log_rows(request: AuthedRequest, form: XrayLogFilter):
    """The X-rays taken in the user's branches, filtered; newest first."""
    rows = (
        ClinicalImage.objects.for_user(request.user)
        .filter(kind=ImageKind.XRAY, patient__deleted_at__isnull=True)
        .select_related("patient", "taken_by", "branch")
        .order_by("-taken_at", "-pk")
    )
    data = form.cleaned_data if form.is_valid() else {}
    zone = timezone.get_current_timezone()
    if data.get("since"):
        rows = rows.filter(
            taken_at__gte=datetime.datetime.combine(data["since"], datetime.time.min, zone)
        )
    if data.get("until"):
        end = datetime.datetime.combine(data["until"], datetime.time.min, zone)
        rows = rows.filter(taken_at__lt=end + datetime.timedelta(days=1))
    if data.get("branch"):
        rows = rows.filter(branch=data["branch"])
    if data.get("patient"):
        rows = rows.filter(patient_id=data["patient"])
    return rows


def _log_line(image: ClinicalImage, sums: dict) -> list:
    taken = timezone.localtime(image.taken_at)
    return [
        taken.replace(tzinfo=None),
        str(image.taken_by or ""),
        str(image.patient),
        image.patient.card_number,  # type: ignore[attr-defined]
        image.get_xray_type_display(),  # type: ignore[attr-defined]
        ", ".join(map(str, image.teeth_list)),
        image.exposures,
        image.dose_msv,
        sums.get((image.patient_id, taken.year)),
        str(image.branch),
    ]


LOG_HEADERS = (
    gettext_lazy("Taken"),
    gettext_lazy("Taken by"),
    gettext_lazy("Patient"),
    gettext_lazy("Card number"),
    gettext_lazy("X-ray type"),
    gettext_lazy("Teeth"),
    gettext_lazy("Exposures"),
    gettext_lazy("Effective dose, mSv"),
    gettext_lazy("Patient's dose in the year, mSv"),
    gettext_lazy("Branch"),
)


@require_GET
@module_required("clinical", "view")
def xray_log(request: AuthedRequest) -> HttpResponseBase:
    """The X-ray log: guarded by the clinical record's right, as it lists patients' X-rays and
    doses (medical data); the Reports module has not landed, and its right is the accountant's."""
    require_card_access(request)
    form = XrayLogFilter(request.GET or None, user=request.user)
    if form.is_bound and not form.is_valid():
        return render(request, "clinical/xray_log.html", {"form": form, "page": None}, status=400)
    rows = _log_rows(request, form)
    if fmt := export_requested(request):
        return _export(fmt, rows)
    page = paginate(request, rows, LOG_PER_PAGE)
    sums = images.year_doses(list(page))
    patient = None
    if form.is_bound and form.cleaned_data.get("patient"):
        patient = Patient.objects.filter(pk=form.cleaned_data["patient"]).first()
    return render(
        request,
        "clinical/xray_log.html",
        {
            "form": form,
            "page": page,
            "lines": [
                (image, sums.get((image.patient_id, timezone.localtime(image.taken_at).year)))
                for image in page
            ],
            "query_string": query_without_page(request),
            "patient": patient,
        },
    )


def _export(fmt: str, rows) -> HttpResponseBase:
    def lines() -> Iterator[list]:
        chunk: list[ClinicalImage] = []
        for image in rows.iterator(chunk_size=500):
            chunk.append(image)
            if len(chunk) == 500:
                yield from _chunk_lines(chunk)
                chunk = []
        yield from _chunk_lines(chunk)

    return export_response(
        fmt=fmt, filename="xray-log", headers=[str(h) for h in LOG_HEADERS], rows=lines()
    )


def _chunk_lines(chunk: list[ClinicalImage]):
    sums = images.year_doses(chunk)
    for image in chunk:
        yield _log_line(image, sums)
