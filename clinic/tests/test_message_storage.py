"""A message that ends with an abbreviated name ends with one period, not two."""

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import RequestFactory
from django.utils.safestring import SafeData, mark_safe

from clinic.message_storage import end_sentence
from clinic.tests.factories import EmployeeFactory


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Added: Morozov A. V..", "Added: Morozov A. V."),
        ("Saved.", "Saved."),
        ("Loading...", "Loading..."),
        ("", ""),
    ],
)
def test_one_final_period(text, shown):
    assert end_sentence(text) == shown


@pytest.mark.django_db
def test_a_message_naming_an_employee_at_its_end_has_one_final_period():
    request = RequestFactory().get("/")
    SessionMiddleware(lambda r: None).process_request(request)
    request._messages = messages.storage.default_storage(request)
    employee = EmployeeFactory(last_name="Морозов", first_name="Антон", middle_name="Викторович")
    messages.success(request, f"Added: {employee.short_name}.")
    messages.info(request, mark_safe(f"<b>{employee.short_name}</b>."))
    shown = [message.message for message in get_messages(request)]
    assert shown[0] == f"Added: {employee.short_name}"
    assert not shown[0].endswith("..")
    assert isinstance(shown[1], SafeData)
