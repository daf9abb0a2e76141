"""Writes of discounts: create, change, delete (to the recycle bin). Each is one transaction,
validated, audited and published (``discount.created`` / ``discount.changed`` /
``discount.deleted``); kept apart from the invoices' ``services`` while both are built."""

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import Discount, DiscountRecipients, DiscountScope
from clinic import services as clinic_services
from clinic.models import User
from clinic.money import round_money
from clinic.writes import save_changes, save_new

FIELDS = (
    "name",
    "active",
    "scope",
    "recipients",
    "age_from",
    "age_to",
    "valid_from",
    "valid_to",
    "kind",
    "value",
)
MAX_VALUE = Decimal(10) ** 10  # past the column anyway: full_clean says so
LISTS = ("services", "categories", "patient_groups", "patients")


def _normalised(data: dict[str, Any]) -> dict[str, Any]:
    """Only the lists the scope and the recipients use are kept (a discount for everyone
    keeps no chosen patients from an earlier edit), and ages only for an age range."""
    data = {**data}
    value = data.get("value")
    if isinstance(value, Decimal) and value.is_finite() and abs(value) < MAX_VALUE:
        data["value"] = round_money(value)  # as stored: 10 and 10.00 are no change
    if data.get("scope") == DiscountScope.ORDER:
        data["services"], data["categories"] = [], []
    recipients = data.get("recipients")
    if recipients != DiscountRecipients.AGE:
        data["age_from"] = data["age_to"] = None
    if recipients != DiscountRecipients.GROUP:
        data["patient_groups"] = []
    if recipients != DiscountRecipients.PATIENTS:
        data["patients"] = []
    return data


def _check_lists(data: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    if data.get("scope") in (DiscountScope.ONLY, DiscountScope.EXCEPT) and not (
        data.get("services") or data.get("categories")
    ):
        errors["services"] = _("Choose the services or the categories the discount is about.")
    recipients = data.get("recipients")
    if recipients == DiscountRecipients.GROUP and not data.get("patient_groups"):
        errors["patient_groups"] = _("Choose at least one patient group.")
    if recipients == DiscountRecipients.PATIENTS and not data.get("patients"):
        errors["patients"] = _("Choose at least one patient.")
    if errors:
        raise ValidationError(errors)


def discount_create(*, by: User, data: dict[str, Any]) -> Discount:
    data = _normalised(data)
    _check_lists(data)
    with transaction.atomic():
        return save_new(
            Discount(**{name: data[name] for name in FIELDS if name in data}),
            by=by,
            m2m={name: list(data.get(name) or []) for name in LISTS},
            event="discount.created",
        )


def discount_update(*, discount: Discount, by: User, data: dict[str, Any]) -> Discount:
    data = _normalised(data)
    _check_lists(data)
    with transaction.atomic():
        changes = {name: data[name] for name in FIELDS if name in data}
        changes.update({name: list(data.get(name) or []) for name in LISTS})
        saved, _changes = save_changes(discount, by=by, data=changes, event="discount.changed")
    return saved


def discount_delete(*, discount: Discount, by: User) -> None:
    """To the recycle bin; invoices keep the discount they were given."""
    with transaction.atomic():
        clinic_services.object_soft_delete(obj=discount, by=by)
