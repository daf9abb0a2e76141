import datetime

from ninja import Query, Router, Schema

from clinic.api import module_auth
from clinic.tz import request_zone
from patients.selectors import patient_search

router = Router(tags=["patients"])


class PatientOut(Schema):
    id: int
    card_number: int
    full_name: str
    phone: str
    birth_date: datetime.date | None


class SearchParams(Schema):
    q: str
    limit: int = 10


@router.get(
    "/patients/search",
    response=list[PatientOut],
    summary="Find patients by name, phone fragment (any format) or card number",
    auth=module_auth("patients", "view"),
)
def search(request, params: Query[SearchParams]):
    return patient_search(params.q, limit=max(1, min(params.limit, 50)), zone=request_zone(request))
