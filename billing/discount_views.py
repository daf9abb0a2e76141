"""The Discounts module (``/billing/discounts/``): the list, the editor, deleting to the
recycle bin, and "try it": what each discount gives a patient on a day for some services."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from billing import discount_services, discounts
from billing.discount_forms import DiscountFilter, DiscountForm, TryForm
from billing.models import Discount, DiscountKind, DiscountRecipients, DiscountScope
from clinic.htmx import done
from clinic.lists import export_requested, export_response, paginate, query_without_page
from clinic.models import PatientGroup
from clinic.money import format_money
from clinic.permissions import AuthedRequest, has_module_perm, module_required
from clinic.views.trash import delete_with_confirmation
from pricelist.models import Service, ServiceCategory
from pricelist.prices import prices_for


def _listed():
    """Discounts with what the list shows of them, in a fixed number of queries."""
    chosen = (
        Discount.patients.through.objects.filter(discount_id=OuterRef("pk"))
        .order_by()
        .values("discount_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Discount.objects.annotate(patient_count=Subquery(chosen)).prefetch_related(
        Prefetch("services", Service.all_objects.only("pk", "code", "name")),
        Prefetch("categories", ServiceCategory.all_objects.only("pk", "name")),
        Prefetch("patient_groups", PatientGroup.all_objects.only("pk", "name")),
    )


def describe_value(discount: Discount) -> str:
    if discount.kind == DiscountKind.PERCENT:
        return f"{discount.value.normalize():f} %"
    return f"{format_money(discount.value)} ₽"


def describe_scope(discount: Discount) -> str:
    if discount.scope == DiscountScope.ORDER:
        return str(discount.get_scope_display())
    names = [s.name for s in discount.services.all()] + [c.name for c in discount.categories.all()]
    return f"{discount.get_scope_display()}: {', '.join(names)}"


def describe_recipients(discount: Discount) -> str:
    if discount.recipients == DiscountRecipients.AGE:
        return _("Age %(from)s–%(to)s") % {
            "from": discount.age_from if discount.age_from is not None else "0",
            "to": discount.age_to if discount.age_to is not None else "…",
        }
    if discount.recipients == DiscountRecipients.GROUP:
        return ", ".join(g.name for g in discount.patient_groups.all())
    if discount.recipients == DiscountRecipients.PATIENTS:
        return _("Chosen patients: %(count)s") % {
            "count": getattr(discount, "patient_count", 0) or 0
        }
    return str(discount.get_recipients_display())


def _period(discount: Discount) -> str:
    first = discount.valid_from.strftime("%d.%m.%Y") if discount.valid_from else "…"
    last = discount.valid_to.strftime("%d.%m.%Y") if discount.valid_to else "…"
    return "" if not (discount.valid_from or discount.valid_to) else f"{first} – {last}"


@require_GET
@module_required("discounts", "view")
def discount_list(request: AuthedRequest) -> HttpResponseBase:
    filter_form = DiscountFilter(request.GET or None)
    rows = filter_form.filter(_listed()).order_by("name", "pk")
    if fmt := export_requested(request):
        return export_response(
            fmt=fmt,
            filename="discounts",
            headers=[
                _("Name"),
                _("Active"),
                _("Kind"),
                _("Value"),
                _("Applies to"),
                _("Recipients"),
                _("Valid from"),
                _("Valid to"),
            ],
            rows=(
                [
                    d.name,
                    _("yes") if d.active else _("no"),
                    d.get_kind_display(),
                    d.value,
                    describe_scope(d),
                    describe_recipients(d),
                    d.valid_from,
                    d.valid_to,
                ]
                for d in rows
            ),
        )
    page = paginate(request, rows)
    context = {
        "filter": filter_form,
        "page": page,
        "rows": [
            {
                "discount": d,
                "value": describe_value(d),
                "scope": describe_scope(d),
                "recipients": describe_recipients(d),
                "period": _period(d),
            }
            for d in page
        ],
        "query_string": query_without_page(request),
        "can_change": has_module_perm(request.user, "discounts", "change"),
    }
    template = "billing/discounts.html#results" if request.htmx else "billing/discounts.html"
    return render(request, template, context)


def _editor(request: AuthedRequest, discount: Discount | None) -> HttpResponse:
    form = DiscountForm(request.POST or None, instance=discount)
    if request.method == "POST" and form.is_valid():
        try:
            if discount is None:
                saved = discount_services.discount_create(
                    by=request.user, data=form.discount_data()
                )
            else:
                saved = discount_services.discount_update(
                    discount=discount, by=request.user, data=form.discount_data()
                )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("The discount %(name)s is saved.") % {"name": saved.name})
            return done(request, reverse("billing:discounts"))
    return render(
        request,
        "billing/discount_form.html",
        {"form": form, "discount": discount},
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@module_required("discounts", "change")
def discount_create(request: AuthedRequest) -> HttpResponse:
    return _editor(request, None)


@require_http_methods(["GET", "POST"])
@module_required("discounts", "change")
def discount_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    return _editor(request, get_object_or_404(Discount, pk=pk))


@require_http_methods(["GET", "POST"])
@module_required("discounts", "change")
def discount_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    discount = get_object_or_404(Discount, pk=pk)
    return delete_with_confirmation(
        request,
        discount,
        title=_("Delete the discount"),
        question=_(
            "Move the discount %(name)s to the recycle bin? Invoices keep the discounts they "
            "were given; it can be restored from the recycle bin."
        )
        % {"name": discount.name},
        delete=lambda confirm: discount_services.discount_delete(
            discount=discount, by=request.user
        ),
        deleted=_("The discount %(name)s moved to the recycle bin.") % {"name": discount.name},
        undo_section="discounts",
        next_url=reverse("billing:discounts"),
    )


@require_GET
@module_required("discounts", "view")
def discount_try(request: AuthedRequest) -> HttpResponse:
    """What each discount the patient may get on the day gives on the chosen services (one
    line of each, at its price), and which one is the best. Nothing is saved."""
    today = timezone.localdate()
    form = TryForm(request.GET or None, initial={"on": today})
    context: dict = {"form": form}
    if form.is_bound and form.is_valid():
        chosen = list(form.cleaned_data["services"])
        day = form.cleaned_data["on"]
        patient = form.cleaned_data["patient"]
        prices = prices_for(chosen, branch=request.branch, on=day)
        lines = [
            discounts.OrderLine.of(
                service_id=s.pk, category_id=s.category_id, quantity=1, unit_price=prices[s.pk]
            )
            for s in chosen
        ]
        results = [
            discounts.apply(rule, lines) for rule in discounts.applicable_discounts(patient, day)
        ]
        best = discounts.best_of([r.rule for r in results], lines)
        context.update(
            services=chosen,
            lines=lines,
            results=results,
            best_id=best.discount_id if best else None,
            total=sum((line.amount for line in lines), discounts.ZERO),
        )
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "billing/discount_try.html", context, status=status)
