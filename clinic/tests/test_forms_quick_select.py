"""QuickSelect writes the same <select> as Django's template-rendered one, only faster."""

import re

import pytest
from django import forms

from clinic.forms import Form, QuickSelect
from clinic.models import Employee
from clinic.tests.factories import EmployeeFactory


class Choices(Form):
    plain = forms.ChoiceField(
        choices=[("", "— любой —"), ("a", 'Кабинет "А" <1>'), ("b", "Б")], required=False
    )
    grouped = forms.ChoiceField(choices=[("Группа", [("x", "Икс"), ("y", "Игрек")])])
    doctor = forms.ModelChoiceField(queryset=Employee.objects.order_by("pk"), required=False)


def django_rendering(form: Form, name: str) -> str:
    bound = form[name]
    widget = bound.field.widget
    attrs = bound.build_widget_attrs({"id": bound.auto_id})
    return forms.Select.render(widget, bound.html_name, bound.value(), attrs=attrs)


def tags(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["plain", "grouped", "doctor"])
def test_the_markup_is_what_django_renders(name):
    doctors = EmployeeFactory.create_batch(3)
    form = Choices(data={"plain": "a", "grouped": "y", "doctor": doctors[1].pk})
    widget = form.fields[name].widget
    assert isinstance(widget, QuickSelect)
    html = str(form[name])
    assert tags(html) == tags(django_rendering(form, name))
    assert "selected" in html
    if name == "plain":
        assert "Кабинет &quot;А&quot; &lt;1&gt;" in html  # labels are escaped


@pytest.mark.django_db
def test_a_select_reads_its_objects_in_one_query_not_through_a_server_side_cursor():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from patients.forms import PatientFilter

    EmployeeFactory.create_batch(3)
    with CaptureQueriesContext(connection) as queries:
        str(Choices()["doctor"])
        str(PatientFilter({}).form["coordinator"])  # django-filter's own iterator too
    assert len(queries) == 2
    assert not [query for query in queries if "DECLARE" in query["sql"]]
