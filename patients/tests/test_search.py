"""Finding a patient: by any part of the name, a phone in any format or the card number,
in the selector, the top bar's quick search, the list's ``q`` and the JSON API."""

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from patients.selectors import patient_search, search_condition
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

QUICK_URL = reverse("patients:quick-search")
LIST_URL = reverse("patients:list")
API_URL = "/api/v1/patients/search"


@pytest.fixture
def people():
    return {
        "fedorova": PatientFactory(
            last_name="Фёдорова", first_name="Анна", middle_name="Сергеевна", phone="+79123456789"
        ),
        "ivanov": PatientFactory(
            last_name="Иванов", first_name="Пётр", middle_name="Ильич", phone="+79035550011"
        ),
        "petrov": PatientFactory(
            last_name="Петров",
            first_name="Иван",
            middle_name="Олегович",
            phone="+79165550022",
            home_phone="+74957771234",
        ),
        "sidorova": PatientFactory(
            last_name="Сидорова",
            first_name="Мария",
            middle_name="Ивановна",
            phone="+79265550033",
            card_number=4242,
        ),
    }


def found(query: str) -> list[str]:
    return [patient.last_name for patient in patient_search(query, limit=50)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Фёдорова", "Фёдорова"),
        ("фЁдор", "Фёдорова"),
        ("ФЕДОРОВА", "Фёдорова"),  # ё = е
        ("анна", "Фёдорова"),  # first name
        ("сергеевн", "Фёдорова"),  # patronymic
        ("едоров", "Фёдорова"),  # the middle of a surname
        ("ильич", "Иванов"),
    ],
)
def test_any_part_of_the_name_finds_the_patient_case_and_yo_insensitively(people, query, expected):
    assert found(query) == [expected]


def test_two_words_must_both_occur_in_the_full_name(people):
    assert found("иван петр") == ["Иванов", "Петров"]
    assert found("петров иван") == ["Петров"]
    assert found("иван олег") == ["Петров"]
    assert found("мария петр") == []


@pytest.mark.parametrize(
    "query",
    ["+7 (912) 345-67-89", "89123456789", "79123456789", "9123456789", "345-67", "345 67 89"],
)
def test_a_phone_in_any_format_finds_the_patient(people, query):
    assert found(query) == ["Фёдорова"]


def test_the_home_phone_is_searched_too(people):
    assert found("8 (495) 777-12-34") == ["Петров"]
    assert found("777-12") == ["Петров"]


def test_digits_alone_find_the_card_number(people):
    assert found("4242") == ["Сидорова"]
    assert found(str(people["ivanov"].card_number)) == ["Иванов"]


def test_surnames_that_start_with_the_word_come_first(people):
    # "иван" is in Петров Иван, Сидорова Мария Ивановна and starts Иванов.
    assert found("иван") == ["Иванов", "Петров", "Сидорова"]


def test_deleted_cards_are_not_found(people):
    Patient.objects.filter(pk=people["ivanov"].pk).update(deleted_at=timezone.now())
    assert found("ильич") == []
    assert found("+7 903 555-00-11") == []


def test_an_empty_query_means_no_condition_and_punctuation_finds_nobody(people):
    assert search_condition("") is None
    assert search_condition("   ") is None
    assert found("--") == []


def test_a_search_answers_with_a_bounded_number_of_rows(people):
    PatientFactory.create_batch(12, last_name="Смирнов")
    assert len(patient_search("смирнов", limit=10)) == 10


# --- The top bar's quick search -------------------------------------------------------


def test_quick_search_lists_matches_with_links_to_their_cards(registrar_client, people):
    response = registrar_client.get(QUICK_URL, {"q": "федор"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert [p.pk for p in response.context["results"]] == [people["fedorova"].pk]
    html = response.content.decode()
    assert people["fedorova"].get_absolute_url() in html
    assert f"№ {people['fedorova'].card_number}" in html
    assert "<html" not in html  # a fragment for the dropdown


def test_quick_search_finds_by_phone_fragment(registrar_client, people):
    response = registrar_client.get(QUICK_URL, {"q": "345-67"})
    assert [p.pk for p in response.context["results"]] == [people["fedorova"].pk]


@pytest.mark.parametrize("query", ["", "ф", " и "])
def test_quick_search_needs_at_least_two_characters(registrar_client, people, query):
    response = registrar_client.get(QUICK_URL, {"q": query})
    assert response.status_code == 200
    assert response.context["results"] == []
    assert response.content.decode().strip() == ""


def test_quick_search_says_when_nobody_is_found(registrar_client, people):
    response = registrar_client.get(QUICK_URL, {"q": "Несуществующий"})
    assert response.context["results"] == []
    assert "data-quick-results" in response.content.decode()


def test_quick_search_needs_the_patients_right(outsider_client, people):
    assert outsider_client.get(QUICK_URL, {"q": "федор"}).status_code == 403


def test_quick_search_sends_an_anonymous_visitor_to_log_in(client, people):
    response = client.get(QUICK_URL, {"q": "федор"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_an_anonymous_htmx_search_reloads_the_page_to_the_login(client, people):
    response = client.get(QUICK_URL, {"q": "федор"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 401
    assert response["HX-Redirect"] == reverse("account_login")


# --- The list's search box and the API ------------------------------------------------


def test_the_list_search_box_uses_the_same_search(registrar_client, people):
    response = registrar_client.get(LIST_URL, {"q": "иван"})
    names = [p.last_name for p in response.context["page"].object_list]
    assert names == ["Иванов", "Петров", "Сидорова"]
    response = registrar_client.get(LIST_URL, {"q": "+7 (916) 555-00-22"})
    assert [p.last_name for p in response.context["page"].object_list] == ["Петров"]


def test_the_api_search_returns_patients_as_json(admin_client, people):
    response = admin_client.get(API_URL, {"q": "Федорова"})
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": people["fedorova"].pk,
            "card_number": people["fedorova"].card_number,
            "full_name": "Фёдорова Анна Сергеевна",
            "phone": "+79123456789",
            "birth_date": "1985-05-17",
        }
    ]


def test_the_api_search_caps_the_limit(admin_client, people):
    PatientFactory.create_batch(60, last_name="Смирнов")
    response = admin_client.get(API_URL, {"q": "смирнов", "limit": 1000})
    assert len(response.json()) == 50


def test_the_api_search_needs_a_session_and_the_right(client, outsider_client, people):
    outsider = outsider_client.get(API_URL, {"q": "федор"})
    assert outsider.status_code == 403
    outsider_client.logout()
    assert client.get(API_URL, {"q": "федор"}).status_code == 401
