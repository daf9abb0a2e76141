"""Access control: every view declares what it needs, in one of three ways.

    @module_required("patients", "change")   # a right on a module
    @login_required_view                      # any signed-in employee (own profile, ...)
    @public_view                              # no session: health check, signed webhooks

The declaration is stored on the view as ``view.access`` so that the test suite can walk
the URL conf and check every view as every role. Objects are fetched through access
helpers that also scope them to the user's branches (404 outside them).
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, resolve_url

from clinic.modules import check_access_declaration, permission_codename
from clinic.shapes import Shape

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from clinic.models import Branch, Chair, Employee, User


class AuthedRequest(HttpRequest):
    """The request a guarded view receives: a signed-in user, htmx details, the branch."""

    user: "User"
    htmx: "HtmxDetails"
    branch: "Branch | None"


@dataclass(frozen=True)
class Access:
    module: str | None = None
    action: str | None = None
    public: bool = False

    def allows(self, user) -> bool:
        if self.public:
            return True
        if not (user.is_authenticated and user.is_active):
            return False
        return self.module is None or has_module_perm(user, self.module, self.action or "view")


def has_module_perm(user, module: str, action: str = "view") -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    return user.has_perm(f"clinic.{permission_codename(module, action)}")


def _login_redirect(request: HttpRequest) -> HttpResponse:
    if getattr(request, "htmx", False):
        # An htmx swap of a login page into a panel helps no one: reload the page instead.
        return HttpResponse(status=401, headers={"HX-Redirect": resolve_url("account_login")})
    return redirect_to_login(request.get_full_path())


def _declare(view: Callable, access: Access, check: Callable) -> Callable:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        response = check(request)
        if response is not None:
            return response
        return view(request, *args, **kwargs)

    wrapped.access = access  # type: ignore[attr-defined]
    return wrapped


def module_required(module: str, action: str = "view") -> Callable[[Callable], Callable]:
    check_access_declaration(module, action)
    access = Access(module, action)

    def check(request: HttpRequest) -> HttpResponse | None:
        if not request.user.is_authenticated:
            return _login_redirect(request)
        if not access.allows(request.user):
            raise PermissionDenied
        return None

    return lambda view: _declare(view, access, check)


def login_required_view(view: Callable) -> Callable:
    def check(request: HttpRequest) -> HttpResponse | None:
        if not request.user.is_authenticated:
            return _login_redirect(request)
        return None

    return _declare(view, Access(), check)


def public_view(view: Callable) -> Callable:
    view.access = Access(public=True)  # type: ignore[attr-defined]
    return view


def visible_branches(user) -> QuerySet:
    from clinic.models import Branch

    return Branch.objects.for_user(user)


def visible_branch_ids(user) -> list[int] | None:
    """Ids of the user's branches, or None when the user sees every branch (no filter)."""
    from clinic.models import sees_every_branch

    if sees_every_branch(user):
        return None
    return list(visible_branches(user).values_list("pk", flat=True))


def _branches():
    from clinic.models import Branch

    return Branch.objects


# A branch by id among the user's (every request of the calendar names one), compiled once.
ANY_BRANCH = Shape(lambda *, pk: _branches().filter(pk=pk), name="branch")
EMPLOYEE_BRANCH = Shape(
    lambda *, pk, user: _branches().of_employee(user).filter(pk=pk), name="employee's branch"
)


def branch_for_user(user, pk: int) -> "Branch | None":
    """The branch with this id if the user may see it (``visible_branches``), else None."""
    from clinic.models import sees_every_branch

    if sees_every_branch(user):
        return ANY_BRANCH.first(pk=pk)
    return EMPLOYEE_BRANCH.first(pk=pk, user=user.pk)


def get_branch_for_user(request: HttpRequest, pk: int) -> "Branch":
    branch = branch_for_user(request.user, pk)
    if branch is None:
        raise Http404
    return branch


def get_chair_for_user(request: HttpRequest, pk: int) -> "Chair":
    from clinic.models import Chair

    return get_object_or_404(Chair.objects.for_user(request.user).select_related("branch"), pk=pk)


def get_employee_for_user(request: HttpRequest, pk: int, queryset=None) -> "Employee":
    """An employee who works in one of the user's branches (``queryset`` narrows further)."""
    from clinic.models import Employee

    employees = Employee.objects.all() if queryset is None else queryset
    return get_object_or_404(employees.for_user(request.user), pk=pk)
