"""Queries compiled once (clinic/shapes.py): the same rows as the queryset, one query per
call, the SQL built once, and every shape that could not be reused refused at first use."""

import datetime

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.models import Chair, OutboxEvent
from clinic.shapes import Shape
from clinic.tests.factories import BranchFactory, ChairFactory

pytestmark = pytest.mark.django_db


def test_a_shape_gives_what_the_queryset_gives_with_its_related_rows():
    builds = []

    def chair_in_branch(*, chair: int, branch: int):
        builds.append(chair)
        return Chair.objects.filter(pk=chair, branch=branch).select_related("branch")

    shape = Shape(chair_in_branch)
    first, second = ChairFactory(name="Кресло 1"), ChairFactory(name="Кресло 2")

    for chair in (first, second, first):
        with CaptureQueriesContext(connection) as queries:
            found = shape.first(chair=chair.pk, branch=chair.branch_id)
            assert found.branch.name == chair.branch.name  # no query: selected with it
        assert len(queries) == 1
        assert (found.pk, found.name, found._state.adding) == (chair.pk, chair.name, False)
    assert shape.first(chair=first.pk, branch=second.branch_id) is None
    assert len(builds) == 2  # compiled once, with two sets of stand-ins


def test_values_list_rows_and_converted_fields():
    branch = BranchFactory()
    event = OutboxEvent.objects.create(
        name="probe", aggregate_type="x", aggregate_id="1", payload={"a": [1, "б"]}
    )
    names = Shape(lambda *, pk: Chair.objects.filter(branch=pk).values_list("name").order_by("pk"))
    ChairFactory(branch=branch, name="A"), ChairFactory(branch=branch, name="B")
    assert names.rows(pk=branch.pk) == [("A",), ("B",)]
    payload = Shape(lambda *, pk: OutboxEvent.objects.filter(pk=pk).values_list("payload"))
    assert payload.rows(pk=event.pk) == [({"a": [1, "б"]},)]  # the JSON field's converter ran
    created = Shape(lambda *, after: OutboxEvent.objects.filter(created_at__gt=after))
    assert created.first(after=event.created_at - datetime.timedelta(seconds=1)) == event
    assert created.first(after=event.created_at) is None


def test_shapes_that_cannot_be_reused_are_refused_at_first_use():
    chair = ChairFactory()
    transformed = Shape(lambda *, name: Chair.objects.filter(name__icontains=name))
    with pytest.raises(ValueError, match="do not reach the SQL"):
        transformed.first(name="кресло")
    frozen_time = Shape(
        lambda *, pk: OutboxEvent.objects.filter(pk=pk, created_at__lt=timezone.now())
    )
    with pytest.raises(ValueError, match="different query each time"):
        frozen_time.first(pk=chair.pk)
    growing = Shape(lambda *, pk: Chair.objects.filter(Q(pk=pk) | Q(name=str(pk))))
    with pytest.raises(ValueError, match="different query each time"):
        growing.first(pk=chair.pk)


def test_values_of_another_kind_are_refused():
    shape = Shape(lambda *, pk: Chair.objects.filter(pk=pk))
    shape.first(pk=1)
    for wrong in (None, "1", True, 1.0):
        with pytest.raises(TypeError):
            shape.first(pk=wrong)
    with pytest.raises(TypeError):
        shape.first(pk=1, other=2)
    moment = Shape(lambda *, at: OutboxEvent.objects.filter(created_at__lt=at))
    with pytest.raises(TypeError, match="aware"):
        moment.first(at=datetime.datetime(2026, 1, 1))


def test_first_of_each_reads_several_shapes_together():
    from clinic.shapes import first_of_each

    chair = ChairFactory()
    by_pk = Shape(lambda *, pk: Chair.objects.filter(pk=pk).select_related("branch"))
    names = Shape(lambda *, branch: Chair.objects.filter(branch=branch).values_list("name"))
    with CaptureQueriesContext(connection) as queries:
        found, missing, name = first_of_each(
            (by_pk, {"pk": chair.pk}),
            (by_pk, {"pk": chair.pk + 1000}),
            (names, {"branch": chair.branch_id}),
        )
    assert (found, found.branch, missing, name) == (chair, chair.branch, None, (chair.name,))
    assert len(queries) == 3


def test_a_form_reads_its_shaped_choices_together_and_still_refuses_a_wrong_one(monkeypatch):
    from calendar_app.forms import RescheduleForm
    from clinic import shapes

    chair = ChairFactory()
    batches = []
    pipelined = shapes.pipelined
    monkeypatch.setattr(shapes, "pipelined", lambda *s: batches.append(len(s)) or pipelined(*s))
    form = RescheduleForm(
        {"date": "2026-12-01", "time": "10:00", "doctor": "999999", "chair": str(chair.pk)},
        branch=chair.branch,
        duration=datetime.timedelta(minutes=30),
    )
    assert not form.is_valid()
    assert batches == [2]
    assert form.cleaned_data["chair"] == chair
    assert list(form.errors) == ["doctor"]
