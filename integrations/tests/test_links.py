"""External links: one local object per remote record and back, per system."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.tests.factories import BranchFactory, ChairFactory
from integrations.links import link_find, link_for, link_set
from integrations.models import ExternalLink

pytestmark = pytest.mark.django_db


def test_link_set_creates_a_link_that_both_lookups_find():
    branch = BranchFactory()
    link = link_set(system="amocrm", obj=branch, external_type="company", external_id=3344)
    assert link.object_id == str(branch.pk)
    assert link.external_id == "3344"
    assert link.local_object == branch
    assert link_for(system="amocrm", obj=branch) == link
    assert link_find(system="amocrm", external_type="company", external_id="3344") == link
    assert link_find(system="amocrm", external_type="company", external_id=3344) == link
    assert str(link) == "amocrm:company:3344"


def test_lookups_are_scoped_by_system_and_type():
    branch = BranchFactory()
    link_set(system="amocrm", obj=branch, external_type="company", external_id="1")
    assert link_for(system="bitrix", obj=branch) is None
    assert link_find(system="bitrix", external_type="company", external_id="1") is None
    assert link_find(system="amocrm", external_type="contact", external_id="1") is None
    assert link_for(system="amocrm", obj=ChairFactory()) is None


def test_link_set_again_updates_the_one_link_instead_of_adding_a_second():
    branch = BranchFactory()
    moment = timezone.now() - datetime.timedelta(hours=1)
    link_set(
        system="amocrm",
        obj=branch,
        external_type="company",
        external_id="1",
        pushed_hash="a" * 64,
        remote_updated_at=moment,
    )
    link = link_set(system="amocrm", obj=branch, external_type="company", external_id="2")
    assert ExternalLink.objects.count() == 1
    assert link.external_id == "2"
    # What was not given is kept: a push without a hash must not forget the last one.
    assert link.last_pushed_hash == "a" * 64
    assert link.remote_updated_at == moment
    link = link_set(
        system="amocrm", obj=branch, external_type="company", external_id="2", pushed_hash="b" * 64
    )
    assert link.last_pushed_hash == "b" * 64


def test_the_same_object_may_be_linked_once_in_each_system():
    branch = BranchFactory()
    link_set(system="amocrm", obj=branch, external_type="company", external_id="1")
    link_set(system="bitrix", obj=branch, external_type="company", external_id="1")
    assert ExternalLink.objects.count() == 2


def test_one_remote_record_cannot_be_linked_to_two_local_objects():
    link_set(system="amocrm", obj=BranchFactory(), external_type="company", external_id="1")
    with pytest.raises(IntegrityError), transaction.atomic():
        link_set(system="amocrm", obj=BranchFactory(), external_type="company", external_id="1")
    assert ExternalLink.objects.count() == 1


def test_the_database_refuses_a_second_link_of_one_object():
    from django.contrib.contenttypes.models import ContentType

    branch = BranchFactory()
    content_type = ContentType.objects.get_for_model(branch)
    ExternalLink.objects.create(
        system="amocrm",
        content_type=content_type,
        object_id=str(branch.pk),
        external_type="company",
        external_id="1",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ExternalLink.objects.create(
            system="amocrm",
            content_type=content_type,
            object_id=str(branch.pk),
            external_type="company",
            external_id="2",
        )
