"""Documents on the patient card: what to print, the preview, printing, the printed copies.

Whoever may open the card (``patients.view``) previews, prints and downloads its documents;
marking a copy signed or refused and attaching its scan change the card (``patients.change``).
The URLs live under /documents/ but guard the card's right (see
``clinic/tests/test_url_permissions.py``'s CROSS_MODULE)."""

from django.contrib import messages
from django.core.exceptions import BadRequest, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from clinic import audit
from clinic.bounds import InputRefused, parse_id
from clinic.htmx import close_dialog, trigger
from clinic.permissions import AuthedRequest, has_module_perm, module_required
from documents import placeholders, rendering, services
from documents.context import (
    PlanNotFound,
    VisitNotFound,
    build_context,
    load_plan,
    plan_source,
    visit_source,
)
from documents.forms import ScanForm, StatusForm
from documents.models import Pack, PrintedDocument, PrintedStatus, Template
from documents.views import pdf_response
from patients.models import Patient

COPIES_SHOWN = 10
MAX_AT_ONCE = 20


def _patient(pk: int) -> Patient:
    patient = (
        Patient.objects.select_related("attending_doctor", "branch", "gender", "representative")
        .filter(pk=pk)
        .first()
    )
    if patient is None:
        raise Http404
    return patient


def _copy(pk: int) -> PrintedDocument:
    return get_object_or_404(
        PrintedDocument.objects.visible().select_related("patient", "printed_by", "branch"),
        pk=pk,
    )


def _templates() -> list[Template]:
    return list(
        Template.objects.select_related("document_type", "current_version")
        .filter(current_version__isnull=False)
        .order_by("document_type__position", "name", "pk")
    )


@require_GET
@module_required("patients", "view")
def patient_documents(request: AuthedRequest, pk: int) -> HttpResponse:
    """The card's Documents block."""
    patient = _patient(pk)
    templates = _templates()
    show_all = request.GET.get("copies") == "all"
    copies = PrintedDocument.objects.filter(patient=patient).select_related("printed_by")
    copies = copies.prefetch_related("scans").order_by("-printed_at", "position", "-pk")
    shown = list(copies if show_all else copies[: COPIES_SHOWN + 1])
    context = {
        "patient": patient,
        "templates": templates,
        "first_visit": [t for t in templates if t.in_pack(Pack.FIRST_VISIT)],
        "copies": shown[:COPIES_SHOWN] if not show_all else shown,
        "more_copies": not show_all and len(shown) > COPIES_SHOWN,
        "can_change": has_module_perm(request.user, "patients", "change"),
    }
    return render(request, "documents/patient_documents.html", context)


def _chosen_templates(request: AuthedRequest) -> list[Template]:
    ids = []
    for value in request.GET.getlist("template"):
        pk = parse_id(value)
        if pk is None:
            raise BadRequest(_("Unknown document."))
        if pk not in ids:
            ids.append(pk)
    if len(ids) > MAX_AT_ONCE:
        raise BadRequest(_("Choose at most %(max)s documents.") % {"max": MAX_AT_ONCE})
    found = {t.pk: t for t in _templates() if t.pk in ids}
    if len(found) != len(ids):
        raise Http404
    return [found[pk] for pk in ids]


def _print_context(request: AuthedRequest, patient: Patient, visits: list):
    """The context to print in; the visit is the query's, or else today's visit when the
    dialog opens (``visit=`` empty: none); the plan is the query's (none by default)."""
    if "visit" in request.GET:
        visit_id = None
        if request.GET["visit"]:
            visit_id = parse_id(request.GET["visit"])
            if visit_id is None:
                raise InputRefused(_("Unknown visit."))
    else:
        visit_id = next((choice.id for choice in visits if choice.today), None)
    subjects: dict[str, object] = {}
    if request.GET.get("plan"):
        plan_id = parse_id(request.GET["plan"])
        if plan_id is None:
            raise InputRefused(_("Unknown treatment plan."))
        try:
            subjects["plan"] = load_plan(plan_id, patient, request.user)
        except PlanNotFound as exc:
            raise Http404 from exc
    try:
        return build_context(
            patient,
            user=request.user,
            branch=request.branch,
            visit_id=visit_id,
            subjects=subjects,
        )
    except VisitNotFound as exc:
        raise Http404 from exc


@module_required("patients", "view")
def patient_print(request: AuthedRequest, pk: int) -> HttpResponse:
    """GET: the preview of the chosen documents with the patient's data, what is missing
    flagged (without a choice, the list to choose from). POST: print them (each kept as a
    copy) and offer the PDF."""
    patient = _patient(pk)
    templates = _chosen_templates(request)
    if not templates:
        if request.method == "POST":
            raise BadRequest(_("Choose at least one document."))
        context = {
            "patient": patient,
            "templates": _templates(),
            "visit_param": parse_id(request.GET.get("visit", "")),
        }
        return render(request, "documents/print_choose.html", context)
    source = visit_source()
    visits = source.choices(patient, request.user) if source else []
    context = _print_context(request, patient, visits)
    if request.method == "POST":
        try:
            copies = services.documents_print(
                patient=patient, templates=templates, context=context, by=request.user
            )
        except ValidationError as error:
            return HttpResponse(" ".join(error.messages), status=422)
        response = render(
            request,
            "documents/printed.html",
            {"patient": patient, "copies": copies, "first": copies[0]},
        )
        return trigger(response, "documentsChanged")
    sheets: list = []
    missing: dict[str, placeholders.Placeholder] = {}
    for template in templates:
        version = template.current_version
        filled = placeholders.fill(version.body, context, mark_missing=True)  # type: ignore[union-attr]
        piece = rendering.Piece(version.name, filled.html, version.page_size)  # type: ignore[union-attr]
        sheets.append(rendering.sheet_html(piece, context.organization))
        for placeholder in filled.missing:
            missing.setdefault(placeholder.key, placeholder)
    query: list[tuple[str, int | str]] = [("template", t.pk) for t in templates]
    plan = context.subject("plan")
    query.append(("visit", context.visit.pk if context.visit else ""))
    query.append(("plan", plan.pk if plan else ""))
    plans = plan_source()
    context_data = {
        "patient": patient,
        "templates": templates,
        "sheets": sheets,
        "missing": list(missing.values()),
        "visit": context.visit,
        "visits": visits,
        "plan": plan,
        "plans": plans.choices(patient, request.user) if plans else [],
        "query": urlencode(query),
        "template_ids": [t.pk for t in templates],
    }
    return render(request, "documents/print_preview.html", context_data)


@require_GET
@module_required("patients", "view")
def copy_pdf(request: AuthedRequest, pk: int) -> HttpResponse:
    """The copy's PDF shown by the browser (to print it); ``?batch=1``: every copy printed
    with it, in one PDF. Audited like a download."""
    document = _copy(pk)
    copies = [document]
    if request.GET.get("batch"):
        copies = list(
            PrintedDocument.objects.filter(batch=document.batch, patient=document.patient).order_by(
                "position", "pk"
            )
        )
    pdf = rendering.combine([_read(copy) for copy in copies])
    for copy in copies:
        audit.record(
            actor=request.user,
            action="view",
            obj=copy,
            object_repr=f"printed-document: {copy.title}",
            patient_id=copy.patient_id,
            ip_address=request.META.get("REMOTE_ADDR"),
        )
    name = document.title if len(copies) == 1 else _("Documents")
    return pdf_response(pdf, f"{name} {document.printed_at:%Y-%m-%d}.pdf")


@require_GET
@module_required("patients", "view")
def copy_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    document = _copy(pk)
    context = {
        "document": document,
        "changes": document.status_changes.select_related("changed_by"),
        "scans": document.scans.all(),
        "missing": [placeholders.get(key) or key for key in document.missing],
        "can_change": has_module_perm(request.user, "patients", "change"),
        "status_form": StatusForm(initial={"status": document.status}),
        "scan_form": ScanForm(),
    }
    return render(request, "documents/copy_detail.html", context)


@require_POST
@module_required("patients", "change")
def copy_status(request: AuthedRequest, pk: int) -> HttpResponse:
    document = _copy(pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Unknown status."), status=422)
    services.printed_set_status(
        document=document, by=request.user, status=form.cleaned_data["status"]
    )
    messages.success(
        request,
        _("%(title)s: %(status)s.")
        % {"title": document.title, "status": PrintedStatus(form.cleaned_data["status"]).label},
    )
    return close_dialog("documentsChanged", request=request)


@module_required("patients", "change")
def copy_scan(request: AuthedRequest, pk: int) -> HttpResponse:
    document = _copy(pk)
    form = ScanForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        services.printed_attach_scan(
            document=document, by=request.user, upload=form.cleaned_data["file"]
        )
        messages.success(
            request, _("The signed scan is attached to %(title)s.") % {"title": document.title}
        )
        return close_dialog("documentsChanged", request=request)
    context = {"document": document, "scan_form": form}
    return render(request, "documents/scan_form.html", context, status=422 if form.errors else 200)


def _read(document: PrintedDocument) -> bytes:
    try:
        with document.file.storage.open(str(document.file.name), "rb") as handle:
            return handle.read()
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise Http404 from exc
