import datetime
from typing import Annotated

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Router, Schema
from ninja.errors import HttpError
from ninja.security import SessionAuth
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from clinic import bounds
from clinic.modules import check_access_declaration
from clinic.permissions import Access, visible_branches

router = Router(tags=["clinic"])


# --- Parameter types: what an operation accepts from outside (``clinic.bounds``) -------

Id = Annotated[int, Field(ge=1, le=bounds.ID_MAX)]


def _sane_date(value: datetime.date) -> datetime.date:
    if value not in bounds.SANE_DATES:
        first, last = bounds.SANE_DATES.bounds()
        raise PydanticCustomError(
            "date_out_of_range",
            _("Give a date from {first} to {last}."),
            {"first": first.isoformat(), "last": last.isoformat()},
        )
    return value


Date = Annotated[datetime.date, AfterValidator(_sane_date)]


# --- Errors: always JSON ``{"detail": ...}`` ---------------------------------------------


def install_error_handlers(api: NinjaAPI) -> None:
    """Django's own exceptions, raised by a service or a helper inside an operation, answer
    as JSON with their status (django-ninja would re-raise them in production, and Django
    would answer with an HTML page or, for a ValidationError, a 500)."""

    def answer(request, status: int, detail):
        return api.create_response(request, {"detail": detail}, status=status)

    @api.exception_handler(bounds.InputRefused)
    def input_refused(request, exc):
        return answer(request, 400, exc.message)

    @api.exception_handler(ValidationError)
    def validation_error(request, exc):
        return answer(request, 422, " ".join(exc.messages))

    @api.exception_handler(PermissionDenied)
    def permission_denied(request, exc):
        return answer(request, 403, _("You do not have the right to do this."))

    @api.exception_handler(ObjectDoesNotExist)
    def does_not_exist(request, exc):
        return answer(request, 404, _("Not found."))


class ModuleAuth(SessionAuth):
    """Session authentication plus a module right, checked before the parameters are
    validated (so that a user without the right gets 403, not a validation error).

        @router.get("/slots", auth=module_auth("calendar", "view"))
    """

    def __init__(self, module: str | None, action: str = "view"):
        super().__init__()
        if module is not None:
            check_access_declaration(module, action)
        self.access = Access(module, action if module else None)

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is None:
            return None
        if not self.access.allows(user):
            raise HttpError(403, "You do not have the right to do this.")
        return user


def module_auth(module: str | None, action: str = "view") -> ModuleAuth:
    return ModuleAuth(module, action)


signed_in = module_auth(None)


class MeOut(Schema):
    id: int
    username: str
    full_name: str
    employee_id: int | None
    is_doctor: bool


class ChairOut(Schema):
    id: int
    name: str
    position: int


class BranchOut(Schema):
    id: int
    name: str
    address: str
    time_zone: str
    opens_at: datetime.time
    closes_at: datetime.time
    chairs: list[ChairOut]


@router.get("/me", response=MeOut, summary="The signed-in user", auth=signed_in)
def me(request):
    user = request.user
    employee = getattr(user, "employee", None)
    return {
        "id": user.pk,
        "username": user.username,
        "full_name": employee.full_name if employee else user.get_full_name(),
        "employee_id": employee.pk if employee else None,
        "is_doctor": bool(employee and employee.is_doctor),
    }


@router.get(
    "/branches",
    response=list[BranchOut],
    summary="Branches the user works in, with chairs",
    auth=signed_in,
)
def branches(request):
    return list(visible_branches(request.user).prefetch_related("chairs"))
