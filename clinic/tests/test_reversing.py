import pytest
from django.urls import NoReverseMatch, reverse

from clinic.reversing import reverse_each


def test_reverse_each_gives_what_reverse_gives_for_each_id():
    url_of = reverse_each("clinical:record-remove")
    for pk in (1, 42, 2_000_000_000):
        assert url_of(pk) == reverse("clinical:record-remove", args=[pk])


def test_a_view_without_an_id_argument_is_refused():
    with pytest.raises(NoReverseMatch):
        reverse_each("patients:list")
