"""The price list's screens: the list in a chosen price list, categories, a service's page
with its price history, consumables and typical diagnoses, branch lists; bad input gets a
clear message, rights and branches are respected, query counts stay flat."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from clinic.models import AuditEntry
from clinic.money import format_money
from pricelist.models import Price, PriceList, Service, ServiceCategory
from pricelist.prices import base_list, price_for

from .factories import BranchListFactory, ServiceCategoryFactory, ServiceFactory, priced

pytestmark = pytest.mark.django_db

URL = reverse("pricelist:services")
EARLY = datetime.date(2000, 1, 1)


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def money(amount: str) -> str:
    return format_money(Decimal(amount))


def service_url(service, name="pricelist:service") -> str:
    return reverse(name, args=[service.pk])


def test_the_index_leads_to_the_price_list_screen(admin_client):
    html = admin_client.get(reverse("clinic:reference-index")).content.decode()
    assert URL in html
    response = admin_client.get(reverse("clinic:reference-book", args=["price-list"]))
    assert response.status_code == 302 and response.url == URL


def test_a_service_opened_as_a_reference_entry_leads_to_its_own_page(admin_client):
    """The generic entry form would rename the service and nothing else."""
    service = ServiceFactory()
    url = reverse("clinic:reference-item-update", args=["price-list", service.pk])
    for response in (
        admin_client.get(url),
        admin_client.post(url, {f"item-{service.pk}-name": "X"}),
    ):
        assert response.status_code == 302 and response.url == service_url(service)
    service.refresh_from_db()
    assert service.name != "X"


def test_the_list_shows_the_chosen_lists_prices_and_the_base_where_it_has_none(
    admin_client, branch
):
    own, shared = ServiceFactory(name="Пломба"), ServiceFactory(name="Осмотр")
    priced(own, "1000.00", on=EARLY)
    priced(shared, "500.00", on=EARLY)
    branch_list = BranchListFactory(branch=branch)
    priced(own, "1300.00", on=EARLY, price_list=branch_list)
    html = admin_client.get(URL).content.decode()
    assert money("1000.00") in html and money("1300.00") not in html
    html = admin_client.get(URL, {"list": branch_list.pk}).content.decode()
    assert money("1300.00") in html and money("500.00") in html and money("1000.00") not in html


def test_search_filter_and_pagination(admin_client):
    other = ServiceCategoryFactory(name="Хирургия")
    ServiceFactory(name="Удаление зуба", code="A16.07.001", category=other)
    for number in range(60):
        ServiceFactory(name=f"Пломба {number}")
    html = admin_client.get(URL, {"q": "a16.07"}).content.decode()
    assert "Удаление зуба" in html and "Пломба 1" not in html
    html = admin_client.get(URL, {"category": other.pk}).content.decode()
    assert "Удаление зуба" in html and "Пломба 1" not in html
    first = admin_client.get(URL).content.decode()
    assert "page=2" in first
    response = admin_client.get(URL, {"q": "Пломба"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.content.decode()


def test_the_list_screen_query_count_does_not_grow(admin_client, django_assert_max_num_queries):
    def load():
        return admin_client.get(URL)

    for _ in range(3):
        ServiceFactory()
    load()
    with django_assert_max_num_queries(20) as few:
        load()
    for _ in range(40):
        ServiceFactory(category=ServiceCategoryFactory(name=f"К{_ % 5}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        load()


@pytest.mark.parametrize(
    "params", [{"list": "abc"}, {"list": "9" * 30}, {"category": "x"}, {"category": "-1"}]
)
def test_garbage_parameters_are_refused_with_400(admin_client, params):
    assert admin_client.get(URL, params).status_code == 400


def test_a_branch_list_of_a_branch_the_user_does_not_see_is_not_found(
    manager_client, branch_elsewhere
):
    foreign = BranchListFactory(branch=branch_elsewhere)
    service = ServiceFactory()
    assert manager_client.get(URL, {"list": foreign.pk}).status_code == 404
    assert manager_client.get(reverse("pricelist:list-edit", args=[foreign.pk])).status_code == 404
    response = manager_client.post(
        service_url(service, "pricelist:service-price-add"),
        {"price_list": foreign.pk, "amount": "1", "effective_from": timezone.localdate()},
    )
    assert response.status_code == 404
    assert not Price.objects.filter(price_list=foreign).exists()
    html = manager_client.get(URL).content.decode()
    assert foreign.name not in html


def test_viewers_see_but_do_not_change(registrar_client, client):
    service = ServiceFactory()
    assert registrar_client.get(URL).status_code == 200
    assert registrar_client.get(service_url(service)).status_code == 200
    for name in ("pricelist:service-update", "pricelist:service-delete"):
        assert registrar_client.post(service_url(service, name), {}).status_code == 403
    assert registrar_client.get(reverse("pricelist:import")).status_code == 403
    assert (
        registrar_client.post(reverse("pricelist:category-create"), {"name": "X"}).status_code
        == 403
    )
    assert not ServiceCategory.objects.filter(name="X").exists()


def test_coordinator_without_the_right_is_refused(client, coordinator):
    client.force_login(coordinator.user)
    assert client.get(URL).status_code == 403


def test_wrong_methods(admin_client):
    service = ServiceFactory()
    assert admin_client.post(URL).status_code == 405
    assert admin_client.get(service_url(service, "pricelist:service-delete")).status_code == 405
    assert admin_client.get(reverse("pricelist:import-apply")).status_code == 405


# --- Categories ------------------------------------------------------------------------


def test_categories_are_added_renamed_reordered_and_deactivated(admin_client):
    admin_client.post(reverse("pricelist:category-create"), {"name": "Ортодонтия"})
    admin_client.post(reverse("pricelist:category-create"), {"name": "Гигиена"})
    ortho, hygiene = (
        ServiceCategory.objects.get(name="Ортодонтия"),
        ServiceCategory.objects.get(name="Гигиена"),
    )
    admin_client.post(reverse("pricelist:category-rename", args=[ortho.pk]), {"name": "Брекеты"})
    ortho.refresh_from_db()
    assert ortho.name == "Брекеты"
    admin_client.post(reverse("pricelist:category-move", args=[hygiene.pk, "up"]))
    assert list(ServiceCategory.objects.values_list("name", flat=True)) == ["Гигиена", "Брекеты"]
    ServiceFactory(category=hygiene)
    response = admin_client.post(
        reverse("pricelist:category-delete", args=[hygiene.pk]), follow=True
    )
    assert "still has services" in response.content.decode()
    admin_client.post(reverse("pricelist:category-delete", args=[ortho.pk]))
    assert ServiceCategory.all_objects.get(pk=ortho.pk).deleted_at is not None


def test_a_duplicate_or_blank_category_name_is_refused(admin_client):
    ServiceCategoryFactory(name="Терапия")
    response = admin_client.post(
        reverse("pricelist:category-create"), {"name": "терапия"}, follow=True
    )
    assert "exists already" in response.content.decode()
    admin_client.post(reverse("pricelist:category-create"), {"name": "   "})
    assert ServiceCategory.objects.count() == 1
    assert (
        admin_client.post(reverse("pricelist:category-move", args=[1, "sideways"])).status_code
        == 404
    )


# --- Services --------------------------------------------------------------------------


def new_service(**extra) -> dict:
    return {
        "category": ServiceCategoryFactory().pk,
        "code": "A16.07.002",
        "name": "Пломба",
        "duration_minutes": "45",
        "price": "4200.00",
        **extra,
    }


def test_a_new_service_gets_its_base_price_from_today(admin_client):
    response = admin_client.post(reverse("pricelist:service-new"), new_service())
    service = Service.objects.get(code="A16.07.002")
    assert response.status_code == 302
    assert service.price == Decimal("4200.00")
    entry = Price.objects.get(service=service)
    assert entry.price_list == base_list() and entry.effective_from == timezone.localdate()
    assert AuditEntry.objects.filter(object_id=str(service.pk), action="create").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"price": "-1"}, "cannot be negative"),
        ({"duration_minutes": "0"}, "at least a minute"),
        ({"duration_minutes": "99999"}, "at most a day"),
        ({"code": "  "}, "required"),
        ({"price": "1e400"}, ""),
        ({"price": "NaN"}, ""),
    ],
)
def test_a_new_service_with_bad_input_is_refused(admin_client, changes, message):
    response = admin_client.post(reverse("pricelist:service-new"), new_service(**changes))
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Service.objects.exists()


def test_a_duplicate_code_is_refused(admin_client):
    ServiceFactory(code="A16.07.002")
    response = admin_client.post(reverse("pricelist:service-new"), new_service())
    assert (
        response.status_code == 422 and "is taken by another service" in response.content.decode()
    )
    other = ServiceFactory(code="B01")
    data = new_service(code="A16.07.002")
    data.pop("price")
    response = admin_client.post(service_url(other, "pricelist:service-update"), data)
    assert response.status_code == 422 and "is taken" in response.content.decode()


def test_a_service_is_edited_and_audited(admin_client):
    service = ServiceFactory(code="B01", name="Осмотр")
    data = new_service(code="B02", name="Осмотр повторный", per_tooth="on")
    data.pop("price")
    response = admin_client.post(service_url(service, "pricelist:service-update"), data)
    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.code, service.name, service.duration_minutes, service.per_tooth) == (
        "B02",
        "Осмотр повторный",
        45,
        True,
    )
    entry = AuditEntry.objects.filter(object_id=str(service.pk), action="update").get()
    assert entry.changes["code"] == ["B01", "B02"]


def test_a_service_is_deactivated_to_the_recycle_bin(admin_client):
    service = ServiceFactory()
    admin_client.post(service_url(service, "pricelist:service-delete"))
    assert Service.all_objects.get(pk=service.pk).deleted_at is not None
    assert admin_client.get(service_url(service)).status_code == 404


# --- Prices ----------------------------------------------------------------------------


def test_a_new_price_from_a_date_joins_the_history(admin_client, branch):
    service = ServiceFactory(price=Decimal("1000.00"))
    priced(service, "1000.00", on=EARLY)
    today = timezone.localdate()
    later = today + datetime.timedelta(days=10)
    url = service_url(service, "pricelist:service-price-add")
    response = admin_client.post(
        url, {"price_list": base_list().pk, "amount": "1100", "effective_from": later}
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.price == Decimal("1000.00")  # not in effect yet
    assert price_for(service, branch=None, on=later) == Decimal("1100.00")
    admin_client.post(
        url, {"price_list": base_list().pk, "amount": "1050", "effective_from": today}
    )
    service.refresh_from_db()
    assert service.price == Decimal("1050.00")
    # The same day again replaces the entry; the history still has three days.
    admin_client.post(
        url, {"price_list": base_list().pk, "amount": "1150", "effective_from": later}
    )
    assert list(
        Price.objects.filter(service=service)
        .order_by("effective_from")
        .values_list("amount", flat=True)
    ) == [Decimal("1000.00"), Decimal("1050.00"), Decimal("1150.00")]
    branch_list = BranchListFactory(branch=branch)
    admin_client.post(
        url, {"price_list": branch_list.pk, "amount": "1500", "effective_from": today}
    )
    assert price_for(service, branch=branch, on=today) == Decimal("1500.00")
    html = admin_client.get(service_url(service)).content.decode()
    assert money("1500.00") in html and money("1150.00") in html and branch_list.name in html


@pytest.mark.parametrize(
    ("amount", "day", "message"),
    [
        ("-5", None, "cannot be negative"),
        ("abc", None, "Enter a number"),
        ("100", "yesterday", "today or later"),
        ("100", "0001-01-01", "Enter a date from"),
        ("100", "9999-12-31", "Enter a date from"),
        ("100", "2026-02-30", "valid date"),
    ],
)
def test_a_bad_price_is_refused_with_a_message(admin_client, amount, day, message):
    service = ServiceFactory()
    if day == "yesterday":
        day = timezone.localdate() - datetime.timedelta(days=1)
    response = admin_client.post(
        service_url(service, "pricelist:service-price-add"),
        {
            "price_list": base_list().pk,
            "amount": amount,
            "effective_from": day or timezone.localdate(),
        },
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Price.objects.filter(service=service).exists()


# --- Consumables and diagnoses ---------------------------------------------------------


def consumables(*rows) -> dict:
    data = {
        "consumables-TOTAL_FORMS": str(len(rows)),
        "consumables-INITIAL_FORMS": "0",
        "consumables-MIN_NUM_FORMS": "0",
        "consumables-MAX_NUM_FORMS": "100",
    }
    for number, row in enumerate(rows):
        for key, value in row.items():
            data[f"consumables-{number}-{key}"] = value
    return data


def test_consumables_by_quantity_and_by_price_are_stored(admin_client):
    service = ServiceFactory()
    response = admin_client.post(
        service_url(service, "pricelist:service-consumables"),
        consumables(
            {"material": "Перчатки", "unit": "пара", "mode": "quantity", "value": "2"},
            {"material": "Композит", "unit": "", "mode": "price", "value": "350.50"},
            {"material": "", "unit": "", "mode": "quantity", "value": ""},
        ),
    )
    assert response.status_code == 302
    assert list(service.consumables.values_list("material", "mode", "value")) == [
        ("Перчатки", "quantity", Decimal("2.000")),
        ("Композит", "price", Decimal("350.500")),
    ]
    html = admin_client.get(service_url(service)).content.decode()
    assert "Перчатки" in html and "Композит" in html


@pytest.mark.parametrize(
    "row",
    [
        {"material": "Перчатки", "mode": "quantity", "value": "0"},
        {"material": "Перчатки", "mode": "quantity", "value": "-1"},
        {"material": "Перчатки", "mode": "weight", "value": "1"},
        {"material": "   ", "mode": "quantity", "value": "1"},
    ],
)
def test_bad_consumables_are_refused(admin_client, row):
    service = ServiceFactory()
    response = admin_client.post(
        service_url(service, "pricelist:service-consumables"), consumables(row)
    )
    assert response.status_code == 422
    assert not service.consumables.exists()


def test_typical_diagnoses_are_validated_codes(admin_client):
    service = ServiceFactory()
    url = service_url(service, "pricelist:service-diagnoses")
    response = admin_client.post(url, {"codes": "k02.1, K04.0; K02.1"})
    assert response.status_code == 302
    assert list(service.typical_diagnoses.values_list("code", flat=True)) == ["K02.1", "K04.0"]
    response = admin_client.post(url, {"codes": "K02.1 кариес"})
    assert response.status_code == 422 and "is not an ICD-10 code" in response.content.decode()
    assert service.typical_diagnoses.count() == 2
    admin_client.post(url, {"codes": ""})
    assert not service.typical_diagnoses.exists()


# --- Price lists -----------------------------------------------------------------------


def test_a_branch_list_is_made_once_per_branch_and_the_base_stays_active(
    manager_client, branch, branch_elsewhere
):
    url = reverse("pricelist:list-new")
    response = manager_client.post(url, {"name": "Прайс филиала", "branch": branch.pk})
    made = PriceList.objects.get(branch=branch)
    assert response.status_code == 302 and response.url.endswith(f"?list={made.pk}")
    response = manager_client.post(url, {"name": "Ещё", "branch": branch.pk})
    assert response.status_code == 422
    # A branch the manager does not work in is not offered.
    response = manager_client.post(url, {"name": "Чужой", "branch": branch_elsewhere.pk})
    assert response.status_code == 422
    assert not PriceList.objects.filter(branch=branch_elsewhere).exists()
    base = base_list()
    manager_client.post(
        reverse("pricelist:list-edit", args=[base.pk]), {"name": "Base", "active": ""}
    )
    base.refresh_from_db()
    assert base.active and base.name == "Base"
    manager_client.post(
        reverse("pricelist:list-edit", args=[made.pk]), {"name": "Прайс", "active": ""}
    )
    made.refresh_from_db()
    assert not made.active


def test_the_service_page_query_count_does_not_grow_with_history(
    admin_client, branch, django_assert_max_num_queries
):
    service = ServiceFactory()
    priced(service, "100.00", on=EARLY)
    admin_client.get(service_url(service))
    with django_assert_max_num_queries(25) as few:
        admin_client.get(service_url(service))
    branch_list = BranchListFactory(branch=branch)
    for day in range(1, 30):
        priced(service, f"{100 + day}.00", on=EARLY + datetime.timedelta(days=day))
        priced(
            service,
            f"{200 + day}.00",
            on=EARLY + datetime.timedelta(days=day),
            price_list=branch_list,
        )
    for number in range(10):
        service.consumables.create(material=f"М{number}", unit="шт", value=1)
        service.typical_diagnoses.create(code=f"K0{number}.1")
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(service_url(service))
