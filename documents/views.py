"""The Documents module: the clinic's templates, their versions, the recycle bin.

Printing from the patient card is in ``views_card``; it needs the card's right, not this
module's."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from clinic.htmx import done
from clinic.lists import paginate, query_without_page
from clinic.permissions import AuthedRequest, has_module_perm, module_required
from clinic.views.trash import delete_with_confirmation
from documents import placeholders, rendering, services
from documents.context import sample_context
from documents.forms import TemplateFilter, TemplateForm
from documents.models import Template, TemplateVersion


def _template(pk: int) -> Template:
    return get_object_or_404(
        Template.objects.select_related("document_type", "current_version"), pk=pk
    )


@require_GET
@module_required("documents", "view")
def template_list(request: AuthedRequest) -> HttpResponse:
    filter_form = TemplateFilter(request.GET or None)
    templates = filter_form.filter(
        Template.objects.select_related("document_type", "current_version").order_by("name", "pk")
    )
    context = {
        "filter": filter_form,
        "page": paginate(request, templates),
        "query_string": query_without_page(request),
        "can_change": has_module_perm(request.user, "documents", "change"),
    }
    template = (
        "documents/template_list.html#results" if request.htmx else "documents/template_list.html"
    )
    return render(request, template, context)


def _editor(request: AuthedRequest, form: TemplateForm, template: Template | None, status=200):
    context = {"form": form, "template": template, "groups": placeholders.grouped()}
    return render(request, "documents/template_form.html", context, status=status)


@module_required("documents", "change")
def template_create(request: AuthedRequest) -> HttpResponse:
    form = TemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            template = services.template_create(
                by=request.user, data=form.template_data(), body=form.cleaned_data["body"]
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("Template %(name)s saved.") % {"name": template})
            return done(request, reverse("documents:template-detail", args=[template.pk]))
    return _editor(request, form, None, status=422 if form.errors else 200)


@module_required("documents", "change")
def template_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    template = _template(pk)
    form = TemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        try:
            template, version = services.template_update(
                template=template,
                by=request.user,
                data=form.template_data(),
                body=form.cleaned_data["body"],
                base_version=form.cleaned_data["base_version"],
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            if version is not None:
                text = _("Saved as version %(number)s.") % {"number": version.number}
            else:
                text = _("Changes saved.")
            messages.success(request, text)
            return done(request, reverse("documents:template-detail", args=[template.pk]))
    return _editor(request, form, template, status=422 if form.errors else 200)


def _sample_sheet(request: AuthedRequest, version: TemplateVersion):
    """The text filled with a sample patient's data, as the preview shows it."""
    context = sample_context(request.branch)
    filled = placeholders.fill(version.body, context, mark_missing=True)
    piece = rendering.Piece(version.name, filled.html, version.page_size)
    return rendering.sheet_html(piece, context.organization)


@require_GET
@module_required("documents", "view")
def template_detail(request: AuthedRequest, pk: int, number: int | None = None) -> HttpResponse:
    template = _template(pk)
    versions = list(template.versions.select_related("created_by").order_by("-number"))
    if number is None:
        version = template.current_version
    else:
        version = next((v for v in versions if v.number == number), None)
        if version is None:
            raise Http404
    context = {
        "template": template,
        "version": version,
        "versions": versions,
        "sheet": _sample_sheet(request, version) if version else "",
        "used": placeholders.used_in(version.body) if version else [],
        "can_change": has_module_perm(request.user, "documents", "change"),
    }
    return render(request, "documents/template_detail.html", context)


@module_required("documents", "change")
def template_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    template = _template(pk)
    return delete_with_confirmation(
        request,
        template,
        title=_("Delete the template"),
        question=_(
            "Move the template %(name)s to the recycle bin? Printed copies keep their text; "
            "it can be restored from the recycle bin."
        )
        % {"name": template.name},
        delete=lambda confirm: services.template_delete(template=template, by=request.user),
        deleted=_("The template %(name)s moved to the recycle bin.") % {"name": template.name},
        undo_section="document-templates",
        next_url=reverse("documents:templates"),
    )


@require_GET
@module_required("documents", "view")
def template_sample_pdf(request: AuthedRequest, pk: int) -> HttpResponse:
    """The template printed for a sample patient: how its pages come out, before anyone
    prints it for a real one. Nothing is stored."""
    template = _template(pk)
    version = template.current_version
    if version is None:
        raise Http404
    context = sample_context(request.branch)
    filled = placeholders.fill(version.body, context)
    piece = rendering.Piece(version.name, filled.html, version.page_size)
    pdf = rendering.render([piece], context.organization)[0].pdf
    return pdf_response(pdf, f"{version.name} ({_('sample')}).pdf")


def pdf_response(pdf: bytes, filename: str, *, attachment: bool = False) -> HttpResponse:
    """A PDF the browser shows (and prints) itself; never kept by a cache."""
    from django.utils.http import content_disposition_header

    from clinic.files import safe_filename

    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = content_disposition_header(attachment, safe_filename(filename) or "document.pdf")
    response["Content-Disposition"] = disposition or "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
