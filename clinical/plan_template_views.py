"""The reference book of treatment plan templates: its own screen under the reference books
(``clinic.references`` edits flat entries; a template has diagnoses and lines by
profession). Deactivating goes through the generic reference book, to the recycle bin."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from clinic.permissions import AuthedRequest, module_required
from clinical import plan_selectors, plans
from clinical.models import PlanTemplate
from clinical.plan_forms import PlanTemplateForm, PlanTemplateLineFormSet


@require_GET
@module_required("references", "view")
def template_list(request: AuthedRequest) -> HttpResponse:
    return render(
        request,
        "clinical/plan_templates.html",
        {"rows": plan_selectors.templates_with_problems()},
    )


def _editor(request: AuthedRequest, template: PlanTemplate | None) -> HttpResponse:
    instance = template or PlanTemplate()
    form = PlanTemplateForm(request.POST or None, instance=instance)
    lines = PlanTemplateLineFormSet(request.POST or None, instance=instance, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        try:
            saved = plans.template_save(
                template=form.instance,
                data={
                    "name": form.cleaned_data["name"],
                    "description": form.cleaned_data["description"],
                },
                diagnoses=list(form.cleaned_data["diagnoses"]),
                lines=[
                    line.cleaned_data
                    for line in lines.forms
                    if line.cleaned_data and not line.cleaned_data.get("DELETE")
                ],
                by=request.user,
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("%(name)s saved.") % {"name": saved.name})
            return redirect("clinical:plan-templates")
    broken = []
    if template is not None:
        broken = [
            str(line.service)
            for line in template.lines.select_related("service")
            if line.service.deleted_at is not None
        ]
    return render(
        request,
        "clinical/plan_template_form.html",
        {"form": form, "lines": lines, "template": template, "broken": broken},
        status=422 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@module_required("references", "change")
def template_new(request: AuthedRequest) -> HttpResponse:
    return _editor(request, None)


@require_http_methods(["GET", "POST"])
@module_required("references", "change")
def template_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    return _editor(request, get_object_or_404(PlanTemplate, pk=pk))
