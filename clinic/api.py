import datetime

from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.security import SessionAuth

from clinic.modules import check_access_declaration
from clinic.permissions import Access, visible_branches

router = Router(tags=["clinic"])


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
