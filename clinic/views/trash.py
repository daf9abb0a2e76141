from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Model, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic import dependents, services, trash
from clinic.htmx import done, local_next_url, render_form
from clinic.lists import paginate, query_without_page
from clinic.permissions import AuthedRequest, has_module_perm, module_required


def undo_tag(section_key: str, pk: int) -> str:
    """``extra_tags`` for a "moved to the recycle bin" message: the toast offers Undo."""
    return f"undo:{reverse('clinic:trash-restore', args=[section_key, pk])}"


def delete_with_confirmation(
    request: AuthedRequest,
    obj: Model,
    *,
    title: str,
    question: str,
    delete: Callable[[str | None], None],
    deleted: str,
    undo_section: str,
    next_url: str,
    refused: str = "",
    back_url: str = "",
) -> HttpResponse:
    """The delete dialog of an object that visits and shifts rely on (a patient's card, a
    chair, an employee, a branch): one flow for all of them (``clinic.dependents``).

    GET shows the question and what the deletion cancels: the upcoming visits and shifts
    (date, time, patient and doctor, chair and branch). POST runs ``delete(confirmation)``;
    if the list changed since the dialog was shown, or something refuses the deletion, the
    dialog comes back saying so (409) and nothing is deleted. ``refused`` is a reason known
    before asking (the user's own account): shown instead of the button."""
    if request.method == "POST":
        if refused:
            messages.error(request, refused)
            return done(request, back_url or next_url)
        try:
            delete(request.POST.get("confirm") or None)
        except dependents.ConfirmationNeeded as needed:
            context = _delete_context(request, needed.dependents, changed=needed.changed)
            return _delete_dialog(request, title, question, context, status=409)
        except ValidationError as error:  # refused: the last branch, visits elsewhere...
            context = {
                **_delete_context(request, []),
                "error": " ".join(error.messages),
                "blocked": True,
            }
            return _delete_dialog(request, title, question, context, status=409)
        messages.success(request, deleted, extra_tags=undo_tag(undo_section, obj.pk))
        return done(request, next_url)
    context = _delete_context(request, dependents.of(obj))
    if refused:
        context.update(error=refused, blocked=True)
    return _delete_dialog(request, title, question, context)


def _delete_context(request: AuthedRequest, found: list, *, changed: bool = False) -> dict:
    hidden = dependents.hidden_from(found, request.user)
    return {
        # Visits of branches the user does not work in are counted, not shown.
        "found": [d for d in found if d not in hidden],
        "confirmation": dependents.confirmation(found),
        "changed": changed,
        "error": dependents.refusal_for_hidden(hidden) if hidden else "",
        "blocked": bool(hidden),
    }


def _delete_dialog(
    request: AuthedRequest, title: str, question: str, context: dict, status: int = 200
) -> HttpResponse:
    context = {**context, "title": title, "question": question, "action": request.path}
    return render_form(request, "components/delete_dialog.html", context, status=status)


def _sections_for(user) -> list[trash.TrashSection]:
    return [s for s in trash.sections() if has_module_perm(user, s.module, "view")]


@module_required("trash", "view")
def trash_index(request: AuthedRequest) -> HttpResponse:
    sections = _sections_for(request.user)
    counts = {s.key: s.deleted_for(request.user).count() for s in sections}
    # Without a choice, the first section that holds something (else the first one).
    first = next((s for s in sections if counts[s.key]), sections[0] if sections else None)
    key = request.GET.get("section") or (first.key if first else "")
    current = next((s for s in sections if s.key == key), None)
    page = None
    query = request.GET.get("q", "").strip()
    if current:
        items = current.deleted_for(request.user)
        if query and any(f.name == "name" for f in current.model._meta.fields):
            items = items.filter(name__icontains=query)
        elif query and any(f.name == "last_name" for f in current.model._meta.fields):
            items = items.filter(Q(last_name__icontains=query) | Q(first_name__icontains=query))
        page = paginate(request, items)
        for obj in page:
            obj.trash_label = current.describe(obj)  # type: ignore[attr-defined]
    context = {
        "sections": [{"section": s, "count": counts[s.key]} for s in sections],
        "current": current,
        "page": page,
        "query": query,
        "query_string": query_without_page(request),
    }
    return render(request, "clinic/trash.html", context)


@require_POST
@module_required("trash", "change")
def trash_restore(request: AuthedRequest, section: str, pk: int) -> HttpResponse:
    trash_section = trash.get_section(section)
    if trash_section is None or not has_module_perm(request.user, trash_section.module, "change"):
        raise Http404
    obj = get_object_or_404(trash_section.deleted_for(request.user), pk=pk)
    try:
        services.object_restore(obj=obj, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("%(object)s restored.") % {"object": trash_section.describe(obj)}
        )
    next_url = request.POST.get("next") or f"{reverse('clinic:trash')}?section={section}"
    return done(request, local_next_url(request, next_url, reverse("clinic:trash")))
