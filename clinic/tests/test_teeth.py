import pytest
from django.core.exceptions import ValidationError

from clinic import teeth
from clinic.teeth import Dentition, Jaw, Surface


@pytest.fixture(autouse=True)
def english():
    """The messages are read in English (the project's default language is Russian)."""
    from django.utils import translation

    with translation.override("en"):
        yield


def test_the_fdi_numbering_has_32_permanent_and_20_primary_teeth():
    assert len(teeth.PERMANENT_TEETH) == 32
    assert len(teeth.PRIMARY_TEETH) == 20
    assert {11, 18, 28, 38, 48, 51, 55, 65, 75, 85} <= teeth.ALL_TEETH
    assert not {10, 19, 20, 49, 56, 66, 86, 90, 0} & teeth.ALL_TEETH


def test_jaws_and_front_teeth():
    assert teeth.jaw_of(11) == teeth.jaw_of(28) == teeth.jaw_of(55) == Jaw.UPPER
    assert teeth.jaw_of(31) == teeth.jaw_of(48) == teeth.jaw_of(75) == Jaw.LOWER
    assert teeth.is_front(13) and teeth.is_front(53)
    assert not teeth.is_front(14) and not teeth.is_front(54)


def test_front_teeth_have_an_incisal_edge_back_teeth_an_occlusal_surface():
    assert Surface.INCISAL in teeth.surfaces_of(11)
    assert Surface.OCCLUSAL not in teeth.surfaces_of(11)
    assert Surface.OCCLUSAL in teeth.surfaces_of(36)
    assert Surface.INCISAL not in teeth.surfaces_of(36)


def test_the_rows_show_each_dentition_as_the_doctor_sees_it():
    upper, lower = teeth.rows(Dentition.PERMANENT)
    assert upper[0][0] == 18 and upper[0][-1] == 11 and upper[1][0] == 21
    assert lower[0][0] == 48 and lower[1][-1] == 38
    assert sum(len(half) for row in teeth.rows(Dentition.PRIMARY) for half in row) == 20
    assert sum(len(half) for row in teeth.rows(Dentition.MIXED) for half in row) == 52


def test_a_tooth_that_does_not_exist_is_refused_by_name():
    with pytest.raises(ValidationError, match="no tooth 19") as error:
        teeth.validate_teeth([11, 19])
    assert error.value.code == "no_such_tooth"


def test_a_tooth_outside_the_dentition_is_refused():
    with pytest.raises(ValidationError, match="Tooth 51 is not in the permanent") as error:
        teeth.validate_teeth([51], Dentition.PERMANENT)
    assert error.value.code == "not_in_dentition"
    with pytest.raises(ValidationError):
        teeth.validate_teeth([16], Dentition.PRIMARY)
    assert teeth.validate_teeth([16, 55, 16], Dentition.MIXED) == [16, 55]


def test_no_teeth_and_an_unknown_dentition_are_refused():
    with pytest.raises(ValidationError):
        teeth.validate_teeth([])
    with pytest.raises(ValidationError):
        teeth.validate_teeth([11], "adult")


def test_a_surface_the_tooth_has_not_is_refused():
    with pytest.raises(ValidationError, match="Tooth 11 has no occlusal surface") as error:
        teeth.validate_surfaces(11, ["O"])
    assert error.value.code == "surface_not_on_tooth"
    with pytest.raises(ValidationError):
        teeth.validate_surfaces(46, ["I"])
    with pytest.raises(ValidationError):
        teeth.validate_surfaces(46, ["X"])
    assert teeth.validate_surfaces(46, ["O", "D", "M"]) == "MDO"
