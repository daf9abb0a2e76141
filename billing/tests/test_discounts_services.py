from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import discount_services
from billing.models import Discount, DiscountKind, DiscountRecipients, DiscountScope
from calendar_app.tests.factories import ServiceFactory
from clinic import services as clinic_services
from clinic import trash
from clinic.models import AuditEntry, OutboxEvent
from patients.tests.factories import PatientFactory, PatientGroupFactory

pytestmark = pytest.mark.django_db


def data(**fields) -> dict:
    return {
        "name": "Весна",
        "active": True,
        "scope": DiscountScope.ORDER,
        "recipients": DiscountRecipients.ALL,
        "kind": DiscountKind.PERCENT,
        "value": Decimal("10"),
        **fields,
    }


def test_create_audits_and_publishes(admin_persona):
    service = ServiceFactory()
    discount = discount_services.discount_create(
        by=admin_persona.user, data=data(scope=DiscountScope.ONLY, services=[service])
    )
    assert list(discount.services.all()) == [service]
    entry = AuditEntry.objects.get(action="create", object_id=str(discount.pk))
    assert entry.actor == admin_persona.user
    assert OutboxEvent.objects.filter(name="discount.created").count() == 1


def test_lists_the_scope_and_recipients_do_not_use_are_dropped(admin_persona):
    discount = discount_services.discount_create(
        by=admin_persona.user,
        data=data(
            services=[ServiceFactory()],
            patients=[PatientFactory()],
            patient_groups=[PatientGroupFactory()],
            age_from=60,
        ),
    )
    assert not discount.services.exists() and not discount.patients.exists()
    assert not discount.patient_groups.exists() and discount.age_from is None


def test_update_records_what_changed(admin_persona):
    discount = discount_services.discount_create(by=admin_persona.user, data=data())
    group = PatientGroupFactory()
    discount_services.discount_update(
        discount=discount,
        by=admin_persona.user,
        data=data(recipients=DiscountRecipients.GROUP, patient_groups=[group], value=Decimal(15)),
    )
    entry = AuditEntry.objects.get(action="update", object_id=str(discount.pk))
    assert entry.changes["patient_groups"] == [[], [group.pk]]
    assert entry.changes["value"] == ["10.00", "15.00"]
    assert OutboxEvent.objects.filter(name="discount.changed").count() == 1


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"scope": DiscountScope.EXCEPT}, "services"),
        ({"recipients": DiscountRecipients.GROUP}, "patient_groups"),
        ({"recipients": DiscountRecipients.PATIENTS}, "patients"),
        ({"value": Decimal(150)}, "value"),
    ],
)
def test_a_service_refuses_an_incomplete_discount(admin_persona, fields, field):
    with pytest.raises(ValidationError) as caught:
        discount_services.discount_create(by=admin_persona.user, data=data(**fields))
    assert field in caught.value.message_dict
    assert not Discount.all_objects.exists()


def test_delete_and_restore_through_the_recycle_bin(admin_persona):
    discount = discount_services.discount_create(by=admin_persona.user, data=data())
    discount_services.discount_delete(discount=discount, by=admin_persona.user)
    section = trash.get_section("discounts")
    assert section is not None and list(section.deleted()) == [discount]
    assert OutboxEvent.objects.filter(name="discount.deleted").exists()
    clinic_services.object_restore(obj=discount, by=admin_persona.user)
    assert Discount.objects.filter(pk=discount.pk).exists()


def test_saving_the_same_value_written_differently_changes_nothing(admin_persona):
    discount = discount_services.discount_create(by=admin_persona.user, data=data())
    discount_services.discount_update(
        discount=discount, by=admin_persona.user, data=data(value=Decimal("10.000"))
    )
    assert not AuditEntry.objects.filter(action="update", object_id=str(discount.pk)).exists()
