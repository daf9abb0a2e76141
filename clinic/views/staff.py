from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from clinic import services
from clinic.forms import EmployeeFilter, EmployeeForm, LoginAccountForm, RightsForm, rights_matrix
from clinic.htmx import done
from clinic.lists import export_requested, export_response, paginate, query_without_page
from clinic.models import Employee
from clinic.permissions import AuthedRequest, get_employee_for_user, module_required
from clinic.views.trash import delete_with_confirmation


def _employees():
    return Employee.objects.select_related("user").prefetch_related("professions", "branches")


@module_required("staff", "view")
def staff_list(request: AuthedRequest) -> HttpResponseBase:
    employees = _employees().for_user(request.user)
    staff_filter = EmployeeFilter(request.GET or None, queryset=employees, request=request)
    employees = staff_filter.qs.distinct() if staff_filter.is_bound else employees
    if fmt := export_requested(request):
        return export_response(
            fmt=fmt,
            filename="staff",
            headers=[
                _("Full name"),
                _("Type"),
                _("Professions"),
                _("Branches"),
                _("Phone"),
                _("Email"),
                _("Login"),
            ],
            rows=(
                [
                    e.full_name,
                    e.get_kind_display(),
                    ", ".join(p.name for p in e.professions.all()),
                    ", ".join(b.name for b in e.branches.all()),
                    e.phone,
                    e.email,
                    e.user.username if e.user else "",
                ]
                for e in employees
            ),
        )
    context = {
        "filter": staff_filter,
        "page": paginate(request, employees),
        "query_string": query_without_page(request),
    }
    template = "clinic/staff/list.html#results" if request.htmx else "clinic/staff/list.html"
    return render(request, template, context)


@module_required("staff", "change")
def employee_create(request: AuthedRequest) -> HttpResponse:
    form = EmployeeForm(request.POST or None, prefix="employee", user=request.user)
    login_form = LoginAccountForm(request.POST or None, prefix="login")
    wants_login = request.POST.get("with_login") == "on"
    if request.method == "POST":
        login_ok = login_form.is_valid() if wants_login else True
        if form.is_valid() and login_ok:
            try:
                employee = services.employee_create(
                    by=request.user,
                    data=form.cleaned_data,
                    username=login_form.cleaned_data["username"] if wants_login else "",
                    password=login_form.cleaned_data["password"] if wants_login else "",
                    rights_groups=login_form.cleaned_data["rights_groups"] if wants_login else (),
                )
            except ValidationError as error:
                (login_form if wants_login else form).add_errors_from(error)
            else:
                messages.success(request, _("%(name)s added to the staff.") % {"name": employee})
                return done(request, reverse("clinic:employee-detail", args=[employee.pk]))
    context = {"form": form, "login_form": login_form, "wants_login": wants_login}
    status = 422 if request.method == "POST" else 200
    return render(request, "clinic/staff/form.html", context, status=status)


@module_required("staff", "view")
def employee_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    employee = get_employee_for_user(request, pk, _employees())
    group_rights: set[str] = set()
    own_rights: set[str] = set()
    if employee.user:
        own_rights = set(employee.user.user_permissions.values_list("codename", flat=True))
        group_rights = set(
            employee.user.groups.values_list("permissions__codename", flat=True).exclude(
                permissions__codename=None
            )
        )
    context = {
        "employee": employee,
        "may_change": not (employee.user and employee.user.is_superuser)
        or request.user.is_superuser,
        "groups": employee.user.groups.all() if employee.user else [],
        "matrix": rights_matrix(group_rights | own_rights),
        "own_rights": own_rights,
    }
    return render(request, "clinic/staff/detail.html", context)


@module_required("staff", "change")
def employee_update(request: AuthedRequest, pk: int) -> HttpResponse:
    employee = get_employee_for_user(request, pk, Employee.objects.select_related("user"))
    services.ensure_may_change_employee(by=request.user, employee=employee)
    form = EmployeeForm(
        request.POST or None, instance=employee, prefix="employee", user=request.user
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.employee_update(employee=employee, by=request.user, data=form.cleaned_data)
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("Changes saved."))
            return done(request, reverse("clinic:employee-detail", args=[pk]))
    status = 422 if request.method == "POST" else 200
    return render(
        request, "clinic/staff/form.html", {"form": form, "employee": employee}, status=status
    )


@module_required("staff", "rights")
def employee_login(request: AuthedRequest, pk: int) -> HttpResponse:
    employee = get_employee_for_user(request, pk, Employee.objects.select_related("user"))
    services.ensure_may_change_employee(by=request.user, employee=employee)
    user = employee.user
    initial = (
        {
            "username": user.username,
            "rights_groups": [
                g.rights_group for g in user.groups.all() if hasattr(g, "rights_group")
            ],
        }
        if user
        else {}
    )
    form = LoginAccountForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.employee_set_login(
                employee=employee,
                by=request.user,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                rights_groups=form.cleaned_data["rights_groups"],
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("Login account saved."))
            return done(request, reverse("clinic:employee-detail", args=[pk]))
    status = 422 if request.method == "POST" else 200
    return render(
        request, "clinic/staff/login.html", {"employee": employee, "form": form}, status=status
    )


@module_required("staff", "rights")
def employee_rights(request: AuthedRequest, pk: int) -> HttpResponse:
    employee = get_employee_for_user(request, pk, Employee.objects.select_related("user"))
    services.ensure_may_change_employee(by=request.user, employee=employee)
    if employee.user is None:
        messages.error(request, _("Create a login account first: rights belong to a login."))
        return done(request, reverse("clinic:employee-login", args=[pk]))
    current = set(employee.user.user_permissions.values_list("codename", flat=True))
    from_groups = set(employee.user.groups.values_list("permissions__codename", flat=True))
    form = RightsForm(request.POST or None, initial={"rights": sorted(current)})
    if request.method == "POST" and form.is_valid():
        try:
            services.employee_set_rights(
                employee=employee, by=request.user, codenames=form.cleaned_data["rights"]
            )
        except ValidationError as error:
            form.add_errors_from(error)
        else:
            messages.success(request, _("Individual rights saved."))
            return done(request, reverse("clinic:employee-detail", args=[pk]))
    selected = set(form.cleaned_data["rights"]) if form.is_bound and form.is_valid() else current
    context = {
        "employee": employee,
        "form": form,
        "matrix": rights_matrix(selected),
        "from_groups": from_groups,
    }
    return render(request, "clinic/staff/rights.html", context, status=422 if form.errors else 200)


@module_required("staff", "change")
def employee_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    employee = get_employee_for_user(request, pk, Employee.objects.select_related("user"))
    services.ensure_may_change_employee(by=request.user, employee=employee)
    return delete_with_confirmation(
        request,
        employee,
        title=_("Deactivate %(name)s") % {"name": employee.short_name},
        question=_(
            "Deactivate %(name)s? The login stops working; the recycle bin can bring both back."
        )
        % {"name": employee.full_name},
        delete=lambda confirm: services.object_soft_delete(
            obj=employee, by=request.user, confirm=confirm
        ),
        deleted=_("%(name)s deactivated and moved to the recycle bin.") % {"name": employee},
        undo_section="employees",
        next_url=reverse("clinic:staff-list"),
        refused=_("You cannot deactivate yourself.") if employee.user_id == request.user.pk else "",
        back_url=reverse("clinic:employee-detail", args=[pk]),
    )
