from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic import preferences, services
from clinic.forms import BranchForm, ChairForm, ChairOrderForm, OrganizationForm, PreferencesForm
from clinic.htmx import done, render_form
from clinic.models import Branch, Chair, Organization
from clinic.modules import MODULES_BY_KEY
from clinic.permissions import (
    AuthedRequest,
    get_branch_for_user,
    get_chair_for_user,
    module_required,
    visible_branches,
)
from clinic.views.trash import delete_with_confirmation


@module_required("settings", "view")
def organization(request: AuthedRequest) -> HttpResponse:
    org = Organization.load()
    form = OrganizationForm(instance=org)
    return render(
        request, "clinic/settings/organization.html", {"form": form, "tab": "organization"}
    )


@require_POST
@module_required("settings", "change")
def organization_save(request: AuthedRequest) -> HttpResponse:
    form = OrganizationForm(
        request.POST, request.FILES, instance=Organization.objects.get_or_create(pk=1)[0]
    )
    if not form.is_valid():
        return render(
            request,
            "clinic/settings/organization.html",
            {"form": form, "tab": "organization"},
            status=422,
        )
    services.organization_update(by=request.user, data=form.cleaned_data)
    messages.success(request, _("Organization settings saved."))
    return done(request, reverse("clinic:settings"))


@module_required("settings", "view")
def branch_list(request: AuthedRequest) -> HttpResponse:
    branches = visible_branches(request.user).annotate(
        chair_count=Count("chairs", filter=Q(chairs__deleted_at__isnull=True))
    )
    return render(
        request, "clinic/settings/branches.html", {"branches": branches, "tab": "branches"}
    )


@module_required("settings", "change")
def branch_create(request: AuthedRequest) -> HttpResponse:
    form = BranchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            branch = services.branch_create(by=request.user, data=form.cleaned_data)
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(
                request, _("Branch %(name)s added; now add its chairs.") % {"name": branch}
            )
            return done(request, reverse("clinic:branch-detail", args=[branch.pk]))
    status = 422 if form.errors else 200
    return render_form(
        request,
        "clinic/settings/branch_form.html",
        {"form": form, "tab": "branches"},
        status=status,
    )


def _branch_page(request: AuthedRequest, branch: Branch, form: BranchForm, status: int = 200):
    context = {
        "branch": branch,
        "form": form,
        "chairs": branch.chairs.all(),
        "chair_form": ChairForm(),
        "tab": "branches",
    }
    return render(request, "clinic/settings/branch_detail.html", context, status=status)


@module_required("settings", "view")
def branch_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    branch = get_branch_for_user(request, pk)
    return _branch_page(request, branch, BranchForm(instance=branch))


@require_POST
@module_required("settings", "change")
def branch_update(request: AuthedRequest, pk: int) -> HttpResponse:
    branch = get_branch_for_user(request, pk)
    form = BranchForm(request.POST, instance=branch)
    if form.is_valid():
        try:
            services.branch_update(branch=branch, by=request.user, data=form.cleaned_data)
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("Branch saved."))
            return done(request, reverse("clinic:branch-detail", args=[pk]))
    return _branch_page(request, get_branch_for_user(request, pk), form, status=422)


@module_required("settings", "change")
def branch_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    branch = get_branch_for_user(request, pk)
    return delete_with_confirmation(
        request,
        branch,
        title=_("Delete the branch"),
        question=_("Move the branch %(name)s to the recycle bin?") % {"name": branch},
        delete=lambda confirm: services.object_soft_delete(
            obj=branch, by=request.user, confirm=confirm
        ),
        deleted=_("Branch %(name)s moved to the recycle bin.") % {"name": branch},
        undo_section="branches",
        next_url=reverse("clinic:branch-list"),
    )


@require_POST
@module_required("settings", "change")
def chair_create(request: AuthedRequest, branch_pk: int) -> HttpResponse:
    branch = get_branch_for_user(request, branch_pk)
    form = ChairForm(request.POST, instance=Chair(branch=branch))
    if form.is_valid():
        try:
            services.chair_create(branch=branch, by=request.user, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_errors_from(error)
    if form.errors:
        return render(
            request,
            "clinic/settings/branch_detail.html#chairs",
            {"branch": branch, "chairs": branch.chairs.all(), "chair_form": form},
            status=422,
        )
    return render(
        request,
        "clinic/settings/branch_detail.html#chairs",
        {"branch": branch, "chairs": branch.chairs.all(), "chair_form": ChairForm()},
    )


@require_POST
@module_required("settings", "change")
def chair_rename(request: AuthedRequest, pk: int) -> HttpResponse:
    chair = get_chair_for_user(request, pk)
    form = ChairForm(request.POST, instance=chair)
    status = 200
    if form.is_valid():
        try:
            services.chair_update(chair=chair, by=request.user, data=form.cleaned_data)
        except ValidationError as error:
            form.add_errors_from(error)
    if form.errors:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        status = 422
    branch = chair.branch
    return render(
        request,
        "clinic/settings/branch_detail.html#chairs",
        {"branch": branch, "chairs": branch.chairs.all(), "chair_form": ChairForm()},
        status=status,
    )


@module_required("settings", "change")
def chair_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    chair = get_chair_for_user(request, pk)
    return delete_with_confirmation(
        request,
        chair,
        title=_("Delete the chair"),
        question=_("Move the chair %(name)s to the recycle bin?") % {"name": chair},
        delete=lambda confirm: services.object_soft_delete(
            obj=chair, by=request.user, confirm=confirm
        ),
        deleted=_("Chair %(name)s moved to the recycle bin.") % {"name": chair},
        undo_section="chairs",
        next_url=reverse("clinic:branch-detail", args=[chair.branch_id]),
    )


@require_POST
@module_required("settings", "change")
def chairs_reorder(request: AuthedRequest, branch_pk: int) -> HttpResponse:
    branch = get_branch_for_user(request, branch_pk)
    form = ChairOrderForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Bad chair order."), status=400)
    try:
        services.chairs_reorder(
            branch=branch, chair_ids=form.cleaned_data["chair_ids"], by=request.user
        )
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=409)
    return HttpResponse(status=204)


def _grouped(form: PreferencesForm) -> list[dict]:
    groups: dict[str, dict] = {}
    for preference in preferences.declared():
        module = MODULES_BY_KEY[preference.module]
        groups.setdefault(module.key, {"module": module, "fields": []})["fields"].append(
            form[preference.key]
        )
    return list(groups.values())


def _modules_page(request: AuthedRequest, form: PreferencesForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "clinic/settings/modules.html",
        {"form": form, "groups": _grouped(form), "tab": "modules"},
        status=status,
    )


@module_required("settings", "view")
def module_settings(request: AuthedRequest) -> HttpResponse:
    return _modules_page(request, PreferencesForm())


@require_POST
@module_required("settings", "change")
def module_settings_save(request: AuthedRequest) -> HttpResponse:
    form = PreferencesForm(request.POST)
    if not form.is_valid():
        return _modules_page(request, form, status=422)
    preferences.preferences_set(values=form.cleaned_data, by=request.user)
    messages.success(request, _("Module settings saved."))
    return done(request, reverse("clinic:module-settings"))
