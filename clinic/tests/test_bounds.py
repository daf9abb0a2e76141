"""``clinic.bounds``: the one place that says what a date, an id and a text from outside may be."""

import datetime
import zoneinfo

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.utils import timezone, translation

from clinic import bounds
from clinic.forms import Form, ModelForm
from clinic.models import Branch, Employee

MOSCOW = zoneinfo.ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        (" 42 ", 42),
        (str(2**63 - 1), 2**63 - 1),
        (str(2**63), None),
        (str(10**30), None),
        ("0", None),
        ("-1", None),
        ("+1", None),
        ("1.0", None),
        ("1e3", None),
        ("²", None),  # str.isdigit() says yes, int() says no
        ("١٢", None),  # Arabic-Indic digits: isdigit() and int() both say yes
        ("", None),
        (None, None),
        (7, 7),
        (2**63, None),
        (True, None),
    ],
)
def test_an_id_is_a_positive_ascii_number_that_fits_a_bigint(text, expected):
    assert bounds.parse_id(text) == expected


def test_an_id_list_is_all_ids_or_an_error():
    assert bounds.parse_id_list("3, 5,,8,") == [3, 5, 8]
    assert bounds.parse_id_list("") == []
    for bad in ("1,x", f"1,{2**63}", "1,-2", "²"):
        with pytest.raises(ValueError):
            bounds.parse_id_list(bad)


@pytest.mark.parametrize(
    "text", ["\x00", "a\x01", "\x0b", "\x1f", "\x7f", "\x80", "\x9f", "\ud800"]
)
def test_control_characters_and_surrogates_are_found(text):
    assert bounds.has_control_characters(text)


@pytest.mark.parametrize("text", ["Иванов-Петров", "a\tb", "a\r\nb", "😀", "\u00a0", "\u2028", ""])
def test_tab_newlines_and_any_printable_text_are_fine(text):
    assert not bounds.has_control_characters(text)


def test_json_strings_reach_every_key_and_value_at_any_depth():
    data = {"a": [1, {"b\x00": "c"}], "d": [[["e"]]]}
    assert sorted(bounds.json_strings(data)) == ["a", "b\x00", "c", "d", "e"]
    deep: list = []
    node = deep
    for _ in range(50_000):
        node.append([])
        node = node[0]
    node.append("x")
    assert list(bounds.json_strings(deep)) == ["x"]


def test_date_param_reads_a_date_and_refuses_or_falls_back(rf: RequestFactory):
    today = timezone.localdate()
    assert bounds.date_param(rf.get("/"), "date", today) == today
    assert bounds.date_param(rf.get("/", {"date": "2026-11-23T09:00:00"}), "date", today) == (
        datetime.date(2026, 11, 23)
    )
    for bad in ("0001-01-01", "9999-12-31", "1899-12-31", "garbage", "²"):
        request = rf.get("/", {"date": bad})
        with pytest.raises(bounds.InputRefused) as refused:
            bounds.date_param(request, "date", today)
        assert "1900-01-01" in refused.value.message and "2100-12-31" in refused.value.message
        assert bounds.date_param(request, "date", today, lenient=True) == today


def test_a_local_time_outside_the_sane_window_is_no_time():
    parsed = bounds.parse_local_datetime("2026-11-23T09:30:00", MOSCOW)
    assert parsed == datetime.datetime(2026, 11, 23, 9, 30, tzinfo=MOSCOW)
    assert bounds.parse_local_datetime("2026-11-23T06:30:00Z", MOSCOW).utcoffset() == (
        datetime.timedelta(0)
    )
    for bad in ("0001-01-01T00:00:00", "9999-12-31T23:59:59+14:00", "1899-12-31T23:00", "x"):
        with pytest.raises(ValueError):
            bounds.parse_local_datetime(bad, MOSCOW)


def test_calendar_times_are_compared_as_dates_so_no_year_overflows():
    zone = datetime.timezone(datetime.timedelta(hours=14))
    far = datetime.datetime(1, 1, 1, tzinfo=zone)  # .astimezone(UTC) would overflow
    with pytest.raises(ValidationError) as refused:
        bounds.check_calendar_times(far, far, "From %(first)s to %(last)s.")
    assert refused.value.code == "date_out_of_range"
    now = timezone.localtime()
    bounds.check_calendar_times(now, now + datetime.timedelta(hours=1), "unused")


class _AnyDateForm(Form):
    day = forms.DateField()
    moment = forms.DateTimeField(required=False)


class _EmployeeForm(ModelForm):
    class Meta:
        model = Employee
        fields = ["last_name", "first_name", "birth_date", "hired_on"]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01"])
def test_every_date_field_of_a_project_form_keeps_to_the_sane_window(day):
    form = _AnyDateForm({"day": day, "moment": f"{day} 10:00"}, prefix=None)
    assert not form.is_valid()
    assert set(form.errors) == {"day", "moment"}
    model_form = _EmployeeForm({"last_name": "А", "first_name": "Б", "hired_on": day})
    assert not model_form.is_valid()
    assert list(model_form.errors) == ["hired_on"]


def test_a_date_inside_the_window_is_fine_and_a_field_may_bring_its_own_window():
    assert _AnyDateForm({"day": "1900-01-01"}).is_valid()
    assert _AnyDateForm({"day": "2100-12-31"}).is_valid()

    class OwnWindow(Form):
        day = forms.DateField(
            validators=[
                bounds.DateWindowValidator(
                    bounds.DateWindow(datetime.date(2000, 1, 1), datetime.date(2000, 12, 31)),
                    too_late="Too late.",
                )
            ]
        )

    form = OwnWindow({"day": "2001-01-01"})
    assert not form.is_valid()
    assert form.errors["day"] == ["Too late."]


class _BranchesForm(Form):
    branches = forms.ModelMultipleChoiceField(queryset=Branch.objects.all(), required=False)


@pytest.mark.django_db
@pytest.mark.parametrize("value", [str(2**63), str(10**30), "-1", "²", "x"])
def test_a_multiple_choice_of_ids_refuses_what_is_no_id_before_querying(branch, value):
    form = _BranchesForm({"branches": [str(branch.pk), value]})
    with translation.override("en"):
        assert not form.is_valid()
        assert form.errors["branches"] == [f"“{value}” is not a valid value."]
    assert _BranchesForm({"branches": [str(branch.pk)]}).is_valid()
