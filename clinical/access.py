"""Who may open a part of the clinical record: those who may open the patient's card (patients
are shared by the network's branches; a card in the recycle bin is not found). The views'
module rights (`clinical.view` / `change`) come on top."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from clinic.permissions import AuthedRequest, has_module_perm
from patients.models import Patient


def require_card_access(request: AuthedRequest) -> None:
    if not has_module_perm(request.user, "patients", "view"):
        raise PermissionDenied


def card_patient(request: AuthedRequest, pk: int, patients: QuerySet | None = None) -> Patient:
    """The live patient ``pk`` (from ``patients``, to read fewer columns), or 404."""
    require_card_access(request)
    return get_object_or_404(Patient.objects.all() if patients is None else patients, pk=pk)
