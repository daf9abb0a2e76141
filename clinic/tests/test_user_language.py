"""The interface language is the user's, not the browser's: chosen once, it follows them."""

import pytest
from django.test import Client
from django.urls import reverse

from clinic.models import User

pytestmark = pytest.mark.django_db


def signed_in(username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    response = client.post(reverse("account_login"), {"login": username, "password": "secret"})
    assert response.status_code == 302
    return client


def home_language(client: Client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response["Content-Language"]


@pytest.fixture
def person(branch):
    from clinic import testing

    persona = testing.make_persona("registrar", branch, username="polyglot", password="secret")
    return persona.user


def test_english_chosen_once_is_the_interface_on_another_computer(person):
    first = signed_in("polyglot")
    assert home_language(first) == "ru"
    first.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert User.objects.get(pk=person.pk).language == "en"
    first.post(reverse("account_logout"))

    elsewhere = signed_in("polyglot")  # a new browser: no language cookie, Russian headers
    assert home_language(elsewhere) == "en"


def test_a_user_without_a_choice_gets_the_browsers_language(person):
    client = signed_in("polyglot")
    assert home_language(client) == "ru"
    client.cookies["django_language"] = "en"
    assert home_language(client) == "en"


def test_an_unknown_language_is_not_saved(person):
    client = signed_in("polyglot")
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    assert User.objects.get(pk=person.pk).language == ""


def test_an_anonymous_visitor_can_still_switch_the_login_page(db):
    client = Client()
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert client.cookies["django_language"].value == "en"
    assert not User.objects.filter(language="en").exists()
