"""The price list's screens under the reference books: categories and services in a chosen
list (the base list or a branch's), a service's page (its price history, consumables and
typical diagnoses), the branch lists, and the Excel import with a preview and the export."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic import services as clinic_services
from clinic.bounds import InputRefused, parse_id
from clinic.lists import export_response, paginate, query_without_page
from clinic.permissions import AuthedRequest, module_required
from clinic.views.trash import undo_tag
from pricelist import imports, selectors
from pricelist import services as writes
from pricelist.forms import (
    CategoryForm,
    ConsumableFormSet,
    DiagnosesForm,
    ImportForm,
    NewServiceForm,
    PriceForm,
    PriceListForm,
    ServiceForm,
)
from pricelist.models import PriceList, Service, ServiceCategory
from pricelist.prices import base_list


def _chosen_list(request: AuthedRequest, value: object = None) -> PriceList:
    """The list named by ``?list=`` (or ``value``) among those the user sees; the base list
    when none is named. A list of a branch the user does not see is not found."""
    raw = request.GET.get("list", "") if value is None else value
    if raw in ("", None):
        return base_list()
    pk = parse_id(raw)
    if pk is None:
        raise InputRefused(_("“list” must be a price list's id."))
    return get_object_or_404(selectors.lists_for(request.user), pk=pk)


def _category_param(request: AuthedRequest) -> int | None:
    raw = request.GET.get("category", "")
    if not raw:
        return None
    pk = parse_id(raw)
    if pk is None:
        raise InputRefused(_("“category” must be a category's id."))
    return pk


def _list_url(price_list: PriceList) -> str:
    url = reverse("pricelist:services")
    return url if price_list.is_base else f"{url}?list={price_list.pk}"


@require_GET
@module_required("references", "view")
def service_list(request: AuthedRequest) -> HttpResponseBase:
    price_list = _chosen_list(request)
    base = base_list()
    today = timezone.localdate()
    query = request.GET.get("q", "").strip()[:100]
    category_id = _category_param(request)
    if request.GET.get("export") == "xlsx":
        return export_response(
            fmt="xlsx",
            filename="price-list",
            headers=imports.EXPORT_HEADERS,
            rows=imports.export_rows(price_list, today),
        )
    services = selectors.services_priced(
        price_list, base, on=today, query=query, category_id=category_id
    )
    page = paginate(request, services, per_page=50)
    context = {
        "price_list": price_list,
        "lists": selectors.lists_for(request.user),
        "categories": ServiceCategory.objects.all(),
        "category_id": category_id,
        "query": query,
        "page": page,
        "query_string": query_without_page(request),
        "category_form": CategoryForm(),
        "today": today,
    }
    template = "pricelist/services.html"
    if request.htmx and not request.htmx.boosted:
        template += "#services"
    return render(request, template, context)


# --- Categories ------------------------------------------------------------------------


@require_POST
@module_required("references", "change")
def category_create(request: AuthedRequest) -> HttpResponse:
    form = CategoryForm(request.POST)
    if form.is_valid():
        category = writes.category_create(name=form.cleaned_data["name"], by=request.user)
        messages.success(request, _("%(name)s added.") % {"name": category.name})
    else:
        messages.error(
            request, " ".join(str(m) for m in form.errors.get("name", [])) or _("Check the name.")
        )
    return redirect("pricelist:services")


@require_POST
@module_required("references", "change")
def category_rename(request: AuthedRequest, pk: int) -> HttpResponse:
    category = get_object_or_404(ServiceCategory, pk=pk)
    form = CategoryForm(request.POST, instance=category)
    if form.is_valid():
        writes.category_rename(category=category, name=form.cleaned_data["name"], by=request.user)
        messages.success(request, _("Saved."))
    else:
        messages.error(
            request, " ".join(str(m) for m in form.errors.get("name", [])) or _("Check the name.")
        )
    return redirect("pricelist:services")


@require_POST
@module_required("references", "change")
def category_move(request: AuthedRequest, pk: int, direction: str) -> HttpResponse:
    ids = list(ServiceCategory.objects.values_list("pk", flat=True))
    if pk not in ids or direction not in ("up", "down"):
        raise Http404
    index = ids.index(pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
        writes.category_reorder(ids=ids, by=request.user)
    return redirect("pricelist:services")


@require_POST
@module_required("references", "change")
def category_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    category = get_object_or_404(ServiceCategory, pk=pk)
    try:
        clinic_services.object_soft_delete(obj=category, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(name)s deactivated and moved to the recycle bin.") % {"name": category.name},
            extra_tags=undo_tag("service-categories", category.pk),
        )
    return redirect("pricelist:services")


# --- Services --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@module_required("references", "change")
def service_new(request: AuthedRequest) -> HttpResponse:
    form = NewServiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in writes.SERVICE_FIELDS}
        try:
            service = writes.service_create(
                data=data, price=form.cleaned_data["price"], by=request.user
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("%(name)s added.") % {"name": service})
            return redirect("pricelist:service", service.pk)
    return render(
        request,
        "pricelist/service_new.html",
        {"form": form},
        status=422 if form.errors else 200,
    )


def _service_page(request: AuthedRequest, service: Service, status: int = 200, **forms):
    lists = selectors.lists_for(request.user)
    price_list = _chosen_list(request)
    context = {
        "service": service,
        "price_list": price_list,
        "lists": lists,
        "history": selectors.price_history(service, lists),
        "form": forms.get("form") or ServiceForm(instance=service),
        "price_form": forms.get("price_form") or PriceForm(),
        "consumables": forms.get("consumables")
        or ConsumableFormSet(
            prefix="consumables",
            initial=list(service.consumables.values("material", "unit", "mode", "value")),
        ),
        "diagnoses_form": forms.get("diagnoses_form")
        or DiagnosesForm(
            initial={"codes": ", ".join(service.typical_diagnoses.values_list("code", flat=True))}
        ),
        "today": timezone.localdate(),
    }
    return render(request, "pricelist/service.html", context, status=status)


@require_GET
@module_required("references", "view")
def service_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    service = get_object_or_404(Service.objects.select_related("category", "profession"), pk=pk)
    return _service_page(request, service)


@require_POST
@module_required("references", "change")
def service_update(request: AuthedRequest, pk: int) -> HttpResponse:
    service = get_object_or_404(Service.objects.select_related("category", "profession"), pk=pk)
    form = ServiceForm(request.POST, instance=Service.objects.get(pk=service.pk))
    if form.is_valid():
        data = {name: form.cleaned_data[name] for name in writes.SERVICE_FIELDS}
        try:
            writes.service_update(service=service, data=data, by=request.user)
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("Saved."))
            return redirect("pricelist:service", service.pk)
    return _service_page(request, service, status=422, form=form)


@require_POST
@module_required("references", "change")
def service_price_add(request: AuthedRequest, pk: int) -> HttpResponse:
    service = get_object_or_404(Service, pk=pk)
    price_list = _chosen_list(request, request.POST.get("price_list", ""))
    form = PriceForm(request.POST)
    if form.is_valid():
        try:
            writes.price_set(
                price_list=price_list, service=service, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("The price is set."))
            return redirect(
                f"{reverse('pricelist:service', args=[service.pk])}?list={price_list.pk}"
            )
    return _service_page(request, service, status=422, price_form=form)


@require_POST
@module_required("references", "change")
def service_consumables(request: AuthedRequest, pk: int) -> HttpResponse:
    service = get_object_or_404(Service, pk=pk)
    formset = ConsumableFormSet(request.POST, prefix="consumables")
    if formset.is_valid():
        rows = [
            {key: form.cleaned_data[key] for key in ("material", "unit", "mode", "value")}
            for form in formset.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        writes.service_consumables_set(service=service, rows=rows, by=request.user)
        messages.success(request, _("Consumables saved."))
        return redirect("pricelist:service", service.pk)
    return _service_page(request, service, status=422, consumables=formset)


@require_POST
@module_required("references", "change")
def service_diagnoses(request: AuthedRequest, pk: int) -> HttpResponse:
    service = get_object_or_404(Service, pk=pk)
    form = DiagnosesForm(request.POST)
    if form.is_valid():
        writes.service_diagnoses_set(
            service=service, codes=form.cleaned_data["codes"], by=request.user
        )
        messages.success(request, _("Typical diagnoses saved."))
        return redirect("pricelist:service", service.pk)
    return _service_page(request, service, status=422, diagnoses_form=form)


@require_POST
@module_required("references", "change")
def service_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    service = get_object_or_404(Service, pk=pk)
    clinic_services.object_soft_delete(obj=service, by=request.user)
    messages.success(
        request,
        _("%(name)s deactivated and moved to the recycle bin.") % {"name": service},
        extra_tags=undo_tag("services", service.pk),
    )
    return redirect("pricelist:services")


# --- Price lists -----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@module_required("references", "change")
def price_list_new(request: AuthedRequest) -> HttpResponse:
    form = PriceListForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            made = writes.price_list_create(
                branch=form.cleaned_data["branch"], name=form.cleaned_data["name"], by=request.user
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("%(name)s added.") % {"name": made.name})
            return redirect(_list_url(made))
    return render(
        request,
        "pricelist/price_list_form.html",
        {"form": form, "price_list": None},
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@module_required("references", "change")
def price_list_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    price_list = get_object_or_404(selectors.lists_for(request.user), pk=pk)
    form = PriceListForm(request.POST or None, instance=price_list, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            saved = writes.price_list_update(
                price_list=price_list, data=form.cleaned_data, by=request.user
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("Saved."))
            return redirect(_list_url(saved))
    return render(
        request,
        "pricelist/price_list_form.html",
        {"form": form, "price_list": price_list},
        status=422 if form.errors else 200,
    )


# --- Import ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@module_required("references", "change")
def import_upload(request: AuthedRequest) -> HttpResponse:
    price_list = _chosen_list(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict = {"form": form, "price_list": price_list, "max_rows": imports.MAX_ROWS}
    if request.method == "POST" and form.is_valid():
        try:
            rows = imports.read_rows(form.cleaned_data["file"].read())
        except imports.ImportFileError as error:
            form.add_error("file", str(error))
        else:
            result = imports.plan(rows, price_list)
            context |= {
                "plan": result,
                "token": imports.keep(rows, price_list=price_list, user=request.user),
                "shown": result.outcomes[: imports.MAX_SHOWN],
            }
            return render(request, "pricelist/import.html", context)
    return render(request, "pricelist/import.html", context, status=422 if form.errors else 200)


@require_POST
@module_required("references", "change")
def import_apply(request: AuthedRequest) -> HttpResponse:
    token = request.POST.get("token", "")
    kept = imports.kept(token, user=request.user)
    if kept is None:
        messages.error(request, _("The preview has expired; upload the file again."))
        return redirect("pricelist:import")
    price_list = get_object_or_404(selectors.lists_for(request.user), pk=kept["price_list"])
    try:
        result = imports.apply(kept["rows"], price_list=price_list, by=request.user)
    except ValidationError as error:
        messages.error(
            request, _("Nothing was imported: %(reason)s") % {"reason": " ".join(error.messages)}
        )
        return redirect(f"{reverse('pricelist:import')}?list={price_list.pk}")
    imports.forget(token)
    counts = result.counts
    messages.success(
        request,
        _("Imported: %(create)s created, %(update)s changed, %(refused)s refused.") % counts,
    )
    return redirect(_list_url(price_list))
