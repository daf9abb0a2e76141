from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic import references, services
from clinic.forms import RightsGroupForm, rights_matrix
from clinic.htmx import done
from clinic.lists import paginate
from clinic.models import RightsGroup
from clinic.permissions import AuthedRequest, module_required
from clinic.references import ReferenceBook
from clinic.views.trash import undo_tag


def _book(key: str) -> ReferenceBook:
    book = references.get_book(key)
    if book is None:
        raise Http404
    return book


@module_required("references", "view")
def reference_index(request: AuthedRequest) -> HttpResponse:
    books = [{"book": book, "count": book.items().count()} for book in references.books()]
    return render(
        request,
        "clinic/references/index.html",
        {"books": books, "rights_group_count": RightsGroup.objects.count()},
    )


def _book_page(request, book: ReferenceBook, form=None, status: int = 200):
    items = book.items()
    query = request.GET.get("q", "").strip()
    if query:
        items = book.search(items, query)
    page = paginate(request, items, per_page=50)
    context = {
        "book": book,
        "page": page,
        "query": query,
        "rows": [(item, book.cells(item)) for item in page],
        "form": form or book.form_class()(),
    }
    template = "clinic/references/book.html"
    if request.htmx and request.method == "GET":
        template += "#items"
    return render(request, template, context, status=status)


@module_required("references", "view")
def reference_book(request: AuthedRequest, key: str) -> HttpResponse:
    book = _book(key)
    if book.screen:
        return redirect(book.screen)
    return _book_page(request, book)


@require_POST
@module_required("references", "change")
def reference_item_create(request: AuthedRequest, key: str) -> HttpResponse:
    book = _book(key)
    if not book.can_add:
        raise Http404
    form = book.form_class()(request.POST, instance=book.new_instance())
    if form.is_valid():
        try:
            item = services.reference_item_create(
                book=book, by=request.user, data=form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("%(name)s added.") % {"name": item})
            return done(request, reverse("clinic:reference-book", args=[key]))
    return _book_page(request, book, form=form, status=422)


@module_required("references", "change")
def reference_item_update(request: AuthedRequest, key: str, pk: int) -> HttpResponse:
    book = _book(key)
    item = get_object_or_404(book.items(), pk=pk)
    if book.screen:
        return redirect(book.item_screen, item.pk) if book.item_screen else redirect(book.screen)
    form = book.form_class()(request.POST or None, instance=item, prefix=f"item-{pk}")
    if request.method == "POST" and form.is_valid():
        try:
            services.reference_item_update(item=item, by=request.user, data=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Saved."))
            return done(request, reverse("clinic:reference-book", args=[key]))
    return render(
        request,
        "clinic/references/item_form.html",
        {"book": book, "item": item, "form": form},
        status=422 if form.errors else 200,
    )


@require_POST
@module_required("references", "change")
def reference_item_delete(request: AuthedRequest, key: str, pk: int) -> HttpResponse:
    book = _book(key)
    if not book.can_deactivate:
        raise Http404
    item = get_object_or_404(book.items(), pk=pk)
    services.object_soft_delete(obj=item, by=request.user)
    messages.success(
        request,
        _("%(name)s deactivated and moved to the recycle bin.") % {"name": item},
        extra_tags=undo_tag(f"reference-{key}", item.pk),
    )
    return done(request, reverse("clinic:reference-book", args=[key]))


# --- Rights groups ---------------------------------------------------------------------


@module_required("references", "view")
def rights_group_list(request: AuthedRequest) -> HttpResponse:
    groups = RightsGroup.objects.select_related("group").annotate(member_count=Count("group__user"))
    return render(request, "clinic/references/rights_groups.html", {"groups": groups})


def _rights_group_page(request, form, rights_group=None, status=200):
    selected = set(form["rights"].value() or [])
    return render(
        request,
        "clinic/references/rights_group_form.html",
        {"form": form, "rights_group": rights_group, "matrix": rights_matrix(selected)},
        status=status,
    )


@module_required("staff", "rights")
def rights_group_create(request: AuthedRequest) -> HttpResponse:
    form = RightsGroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.rights_group_create(
                by=request.user,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                codenames=form.cleaned_data["rights"],
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("Rights group created."))
            return done(request, reverse("clinic:rights-groups"))
    return _rights_group_page(request, form, status=422 if form.errors else 200)


@module_required("staff", "rights")
def rights_group_update(request: AuthedRequest, pk: int) -> HttpResponse:
    rights_group = get_object_or_404(RightsGroup.objects.select_related("group"), pk=pk)
    initial = {
        "name": rights_group.group.name,
        "description": rights_group.description,
        "rights": list(rights_group.group.permissions.values_list("codename", flat=True)),
    }
    form = RightsGroupForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.rights_group_update(
                rights_group=rights_group,
                by=request.user,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                codenames=form.cleaned_data["rights"],
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("Rights group saved."))
            return done(request, reverse("clinic:rights-groups"))
    return _rights_group_page(request, form, rights_group, status=422 if form.errors else 200)


@require_POST
@module_required("staff", "rights")
def rights_group_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    rights_group = get_object_or_404(RightsGroup, pk=pk)
    try:
        services.object_soft_delete(obj=rights_group, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("Rights group moved to the recycle bin."),
            extra_tags=undo_tag("rights-groups", rights_group.pk),
        )
    return done(request, reverse("clinic:rights-groups"))
