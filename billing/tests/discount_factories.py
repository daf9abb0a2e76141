from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from billing.models import Discount, DiscountKind, DiscountRecipients, DiscountScope


class DiscountFactory(DjangoModelFactory):
    class Meta:
        model = Discount
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Скидка {n}")
    scope = DiscountScope.ORDER
    recipients = DiscountRecipients.ALL
    kind = DiscountKind.PERCENT
    value = Decimal("10.00")

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        if extracted:
            self.services.set(extracted)

    @factory.post_generation
    def categories(self, create, extracted, **kwargs):
        if extracted:
            self.categories.set(extracted)

    @factory.post_generation
    def patient_groups(self, create, extracted, **kwargs):
        if extracted:
            self.patient_groups.set(extracted)

    @factory.post_generation
    def patients(self, create, extracted, **kwargs):
        if extracted:
            self.patients.set(extracted)
