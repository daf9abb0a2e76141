import datetime

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from calendar_app.slots import duration_of_services, find_slots
from clinic.api import Date, Id, module_auth
from clinic.bounds import parse_id_list
from clinic.models import Branch, Employee
from clinic.permissions import visible_branch_ids, visible_branches

router = Router(tags=["calendar"])

MAX_DAYS = 31


class SlotQuery(Schema):
    branch: Id | None = Field(None, description="Branch id; required unless a doctor is given")
    doctor: Id | None = Field(None, description="Doctor (employee) id")
    profession: Id | None = Field(None, description="Doctor profession id")
    duration: int | None = Field(None, ge=5, le=720, description="Visit length in minutes")
    services: str | None = Field(
        None, description="Comma-separated service ids; their durations add up"
    )
    date_from: Date = Field(..., description="First local date, inclusive")
    date_to: Date = Field(..., description="Last local date, inclusive (at most 31 days)")
    limit: int | None = Field(None, ge=1, le=5000)


class SlotOut(Schema):
    start: datetime.datetime
    end: datetime.datetime
    doctor_id: int
    chair_id: int
    branch_id: int


@router.get(
    "/slots",
    response=list[SlotOut],
    summary="Free start times for a visit",
    description=(
        "Start times on the clinic's slot step where a visit of the given length (or of the "
        "given services' total length) fits inside a doctor's work shift, with the doctor and "
        "the shift's chair both free. Filter by branch and/or doctor and/or profession. Times "
        "are ISO 8601 with the branch's offset."
    ),
    auth=module_auth("calendar", "view"),
)
def slots(request, query: Query[SlotQuery]):
    if query.date_to < query.date_from or (query.date_to - query.date_from).days >= MAX_DAYS:
        raise HttpError(422, f"date_to must be on or after date_from, within {MAX_DAYS} days")
    if not (query.branch or query.doctor):
        raise HttpError(422, "Give a branch or a doctor")
    if query.branch:
        get_object_or_404(visible_branches(request.user), pk=query.branch)
    if query.doctor:
        get_object_or_404(Employee.objects.doctors().for_user(request.user), pk=query.doctor)
    if query.services:
        try:
            service_ids = parse_id_list(query.services)
        except ValueError as exc:
            raise HttpError(422, "services must be comma-separated ids") from exc
        duration = duration_of_services(service_ids)
    elif query.duration:
        duration = datetime.timedelta(minutes=query.duration)
    else:
        raise HttpError(422, "Give a duration or services")
    if duration <= datetime.timedelta(0):
        raise HttpError(422, "The services have no duration")
    found = find_slots(
        date_from=query.date_from,
        date_to=query.date_to,
        duration=duration,
        branch_id=query.branch,
        doctor_id=query.doctor,
        profession_id=query.profession,
        # A doctor who also works in a branch the user does not see: only the user's branches.
        branch_ids=None if query.branch else visible_branch_ids(request.user),
        limit=query.limit,
    )
    zones = {b.pk: b.zone for b in Branch.objects.filter(pk__in={s.branch_id for s in found})}
    # A branch's week is thousands of slots: plain dicts straight to JSON (the schema above
    # documents them) instead of validating each through the response model.
    return JsonResponse(
        [
            {
                "start": s.start.astimezone(zones[s.branch_id]),
                "end": s.end.astimezone(zones[s.branch_id]),
                "doctor_id": s.doctor_id,
                "chair_id": s.chair_id,
                "branch_id": s.branch_id,
            }
            for s in found
        ],
        safe=False,
    )
