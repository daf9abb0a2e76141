import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Discount, DiscountKind, DiscountRecipients, DiscountScope
from billing.tests.discount_factories import DiscountFactory
from calendar_app.tests.factories import ServiceCategoryFactory, ServiceFactory
from clinic.models import AuditEntry
from patients.tests.factories import PatientFactory, PatientGroupFactory

pytestmark = pytest.mark.django_db

LIST = reverse("billing:discounts")
NEW = reverse("billing:discount-create")
TRY = reverse("billing:discount-try")


@pytest.fixture
def accountant_client(client, accountant):
    client.force_login(accountant.user)
    return client


def form_data(**fields) -> dict:
    return {
        "name": "Весна",
        "active": "on",
        "scope": DiscountScope.ORDER,
        "recipients": DiscountRecipients.ALL,
        "kind": DiscountKind.PERCENT,
        "value": "10",
        **fields,
    }


# --- Rights ------------------------------------------------------------------------------


def test_the_module_is_in_the_sidebar_and_not_a_placeholder(accountant_client):
    response = accountant_client.get(LIST)
    assert response.status_code == 200
    assert b"data-discounts-table" in response.content


def test_a_doctor_has_no_discounts(doctor_client):
    discount = DiscountFactory()
    assert doctor_client.get(LIST).status_code == 403
    assert doctor_client.get(TRY).status_code == 403
    assert doctor_client.post(NEW, form_data()).status_code == 403
    delete = reverse("billing:discount-delete", args=[discount.pk])
    assert doctor_client.post(delete).status_code == 403
    assert Discount.objects.count() == 1


def test_the_front_desk_sees_but_does_not_change(registrar_client):
    discount = DiscountFactory(name="Для всех")
    response = registrar_client.get(LIST)
    assert response.status_code == 200 and "Для всех" in response.content.decode()
    assert b"data-add-discount" not in response.content
    assert registrar_client.get(TRY).status_code == 200
    assert registrar_client.post(NEW, form_data()).status_code == 403
    edit = reverse("billing:discount-edit", args=[discount.pk])
    assert registrar_client.post(edit, form_data(name="Моя")).status_code == 403
    assert Discount.objects.get().name == "Для всех"


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(LIST)
    assert response.status_code == 302 and "login" in response["Location"]


def test_wrong_methods(accountant_client):
    assert accountant_client.post(LIST).status_code == 405
    assert accountant_client.post(TRY).status_code == 405
    assert accountant_client.put(NEW).status_code == 405


# --- The list ----------------------------------------------------------------------------


def test_search_and_filters(accountant_client):
    DiscountFactory(
        name="Гигиена весной",
        valid_from=datetime.date(2026, 3, 1),
        valid_to=datetime.date(2026, 5, 31),
    )
    DiscountFactory(name="Пенсионерам", active=False)
    DiscountFactory(name="Тысяча", kind=DiscountKind.AMOUNT, value=Decimal(1000))

    def names(**params) -> list[str]:
        response = accountant_client.get(LIST, params)
        assert response.status_code == 200
        return [row["discount"].name for row in response.context["rows"]]

    assert names() == ["Гигиена весной", "Пенсионерам", "Тысяча"]
    assert names(q="гигиена") == ["Гигиена весной"]
    assert names(active="no") == ["Пенсионерам"]
    assert names(active="yes", kind="amount") == ["Тысяча"]
    assert names(on="2026-04-01") == ["Гигиена весной", "Пенсионерам", "Тысяча"]
    assert names(on="2026-06-01") == ["Пенсионерам", "Тысяча"]


def test_htmx_gets_the_results_only(accountant_client):
    DiscountFactory(name="Одна")
    response = accountant_client.get(LIST, {"q": "Од"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b'id="discount-results"' in response.content and b"<html" not in response.content


@pytest.mark.parametrize(
    "params",
    [
        {"on": "0001-01-01"},
        {"on": "9999-12-31"},
        {"on": "garbage"},
        {"kind": "bogus", "active": "maybe"},
        {"page": "99999999999999999999999"},
        {"q": "x" * 5000},
    ],
)
def test_hostile_filters_never_fail(accountant_client, params):
    DiscountFactory()
    assert accountant_client.get(LIST, params).status_code == 200


def test_the_list_reads_a_fixed_number_of_queries(accountant_client, django_assert_max_num_queries):
    def make(n: int) -> None:
        services = [ServiceFactory() for _ in range(3)]
        for _i in range(n):
            DiscountFactory(
                scope=DiscountScope.ONLY, services=services, categories=[services[0].category]
            )
            DiscountFactory(
                recipients=DiscountRecipients.GROUP, patient_groups=[PatientGroupFactory()]
            )
            DiscountFactory(recipients=DiscountRecipients.PATIENTS, patients=[PatientFactory()])

    make(1)
    accountant_client.get(LIST)  # sessions, rights and the like are read and cached
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert accountant_client.get(LIST).status_code == 200
    make(8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = accountant_client.get(LIST)
    assert len(response.context["rows"]) == 25


def test_export_lists_every_match(accountant_client):
    DiscountFactory(name="=HYPERLINK(1)", recipients=DiscountRecipients.AGE, age_from=60)
    response = accountant_client.get(LIST, {"export": "csv"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK(1)" in text
    xlsx = accountant_client.get(LIST, {"export": "xlsx"})
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd")


# --- The editor --------------------------------------------------------------------------


def test_create_a_discount_on_chosen_services_for_chosen_patients(accountant_client):
    cleaning = ServiceFactory()
    hygiene = ServiceCategoryFactory(name="Гигиена")
    patient = PatientFactory()
    response = accountant_client.post(
        NEW,
        form_data(
            scope=DiscountScope.ONLY,
            services=[cleaning.pk],
            categories=[hygiene.pk],
            recipients=DiscountRecipients.PATIENTS,
            patients=[patient.pk],
            valid_from="2026-03-01",
            valid_to="2026-03-31",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    discount = Discount.objects.get()
    assert list(discount.services.all()) == [cleaning]
    assert list(discount.categories.all()) == [hygiene]
    assert list(discount.patients.all()) == [patient]
    assert AuditEntry.objects.filter(action="create", object_id=str(discount.pk)).exists()


def test_the_editor_shows_the_chosen_patients_only(accountant_client):
    chosen = PatientFactory(last_name="Избранный")
    PatientFactory(last_name="Другой")
    discount = DiscountFactory(recipients=DiscountRecipients.PATIENTS, patients=[chosen])
    response = accountant_client.get(reverse("billing:discount-edit", args=[discount.pk]))
    page = response.content.decode()
    assert "Избранный" in page and "Другой" not in page
    assert "data-patient-picker" in page


def test_edit_keeps_only_the_lists_the_discount_uses(accountant_client):
    patient = PatientFactory()
    discount = DiscountFactory(recipients=DiscountRecipients.PATIENTS, patients=[patient])
    url = reverse("billing:discount-edit", args=[discount.pk])
    response = accountant_client.post(url, form_data(name="Всем", patients=[patient.pk]))
    assert response.status_code == 302
    discount.refresh_from_db()
    assert discount.name == "Всем" and discount.recipients == "all"
    assert not discount.patients.exists()
    entry = AuditEntry.objects.filter(action="update", object_id=str(discount.pk)).get()
    assert entry.changes["patients"] == [[patient.pk], []]


@pytest.mark.parametrize(
    "fields,field,message",
    [
        ({"value": "150"}, "value", "A percent discount is more than 0 and at most 100."),
        ({"value": "0"}, "value", "A percent discount is more than 0 and at most 100."),
        (
            {"kind": "amount", "value": "-100"},
            "value",
            "A fixed discount is an amount greater than zero.",
        ),
        (
            {"valid_from": "2026-05-02", "valid_to": "2026-05-01"},
            "valid_to",
            "The period ends before it starts.",
        ),
        ({"valid_from": "0001-01-01"}, "valid_from", None),
        ({"valid_to": "9999-12-31"}, "valid_to", None),
        (
            {"scope": "only"},
            "services",
            "Choose the services or the categories the discount is about.",
        ),
        ({"recipients": "group"}, "patient_groups", "Choose at least one patient group."),
        ({"recipients": "patients"}, "patients", "Choose at least one patient."),
        ({"recipients": "age"}, "age_from", "Give the youngest age, the oldest or both."),
        ({"recipients": "age", "age_from": "-1"}, "age_from", None),
        ({"recipients": "age", "age_from": "99999999"}, "age_from", None),
        ({"patients": ["99999999999999999999"], "recipients": "patients"}, "patients", None),
        ({"services": ["1e3"], "scope": "only"}, "services", None),
        ({"value": "1e400"}, "value", None),
        ({"value": "NaN"}, "value", None),
        ({"name": ""}, "name", None),
    ],
)
def test_bad_input_is_refused_with_a_message(accountant_client, settings, fields, field, message):
    settings.LANGUAGE_CODE = "en"
    response = accountant_client.post(NEW, form_data(**fields), headers={"Accept-Language": "en"})
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors, errors
    if message:
        assert message in errors[field]
    assert not Discount.objects.exists()


def test_delete_asks_then_moves_to_the_recycle_bin(accountant_client):
    discount = DiscountFactory(name="Старая")
    url = reverse("billing:discount-delete", args=[discount.pk])
    dialog = accountant_client.get(url, headers={"HX-Request": "true"})
    assert dialog.status_code == 200 and "Старая" in dialog.content.decode()
    assert Discount.objects.filter(pk=discount.pk).exists()
    response = accountant_client.post(url)
    assert response.status_code == 302
    assert not Discount.objects.filter(pk=discount.pk).exists()
    assert Discount.all_objects.get(pk=discount.pk).deleted_at is not None
    trash = accountant_client.get(reverse("clinic:trash"))
    assert "Старая" in trash.content.decode() or trash.status_code == 403


def test_a_deleted_or_unknown_discount_is_a_404(accountant_client):
    from django.utils import timezone

    gone = DiscountFactory(deleted_at=timezone.now())
    for pk in (gone.pk, 2**63 - 1):
        assert accountant_client.get(reverse("billing:discount-edit", args=[pk])).status_code == 404
    assert accountant_client.get("/billing/discounts/99999999999999999999/edit/").status_code == 404


# --- Try it ------------------------------------------------------------------------------


def test_try_shows_what_each_discount_gives_and_the_best(accountant_client):
    hygiene = ServiceCategoryFactory(name="Профессиональная гигиена")
    cleaning = ServiceFactory(category=hygiene, price=Decimal("8500"))
    filling = ServiceFactory(price=Decimal("7500"))
    ten = DiscountFactory(name="Гигиена 10 %", scope=DiscountScope.ONLY, categories=[hygiene])
    five = DiscountFactory(name="60+", recipients=DiscountRecipients.AGE, age_from=60, value=5)
    senior = PatientFactory(birth_date=datetime.date(1950, 1, 1))
    response = accountant_client.get(
        TRY, {"patient": senior.pk, "on": "2026-06-15", "services": [cleaning.pk, filling.pk]}
    )
    assert response.status_code == 200
    results = {r.discount_id: r.total for r in response.context["results"]}
    assert results == {ten.pk: Decimal("850.00"), five.pk: Decimal("800.00")}
    assert response.context["best_id"] == ten.pk
    assert b"data-best" in response.content
    young = PatientFactory(birth_date=datetime.date(2000, 1, 1))
    response = accountant_client.get(
        TRY, {"patient": young.pk, "on": "2026-06-15", "services": [filling.pk]}
    )
    assert response.context["best_id"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"patient": "99999999999999999999", "on": "2026-01-01", "services": ["1"]},
        {"patient": "abc", "on": "0001-01-01", "services": ["x"]},
        {"on": "9999-12-31"},
    ],
)
def test_try_refuses_hostile_input(accountant_client, params):
    assert accountant_client.get(TRY, params).status_code == 422


def test_the_setting_is_in_module_settings(admin_client):
    response = admin_client.get(reverse("clinic:module-settings"))
    assert response.status_code == 200
    assert "billing.auto_select_discount" in response.content.decode()


def test_the_new_discount_form_shows_its_sections(accountant_client):
    response = accountant_client.get(NEW)
    assert response.status_code == 200
    page = response.content.decode()
    assert "data-discount-form" in page and "js/discounts.js" in page
    assert 'name="patients"' in page and "data-patient-picker" in page


def test_try_reads_a_fixed_number_of_queries(accountant_client, django_assert_max_num_queries):
    services = [ServiceFactory() for _ in range(4)]
    patient = PatientFactory(patient_group=PatientGroupFactory())
    params = {"patient": patient.pk, "on": "2026-06-15", "services": [s.pk for s in services]}

    def make() -> None:
        DiscountFactory(scope=DiscountScope.ONLY, services=services[:2])
        DiscountFactory(recipients=DiscountRecipients.PATIENTS, patients=[patient])
        DiscountFactory(recipients=DiscountRecipients.GROUP, patient_groups=[patient.patient_group])

    make()
    accountant_client.get(TRY, params)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert accountant_client.get(TRY, params).status_code == 200
    for _i in range(10):
        make()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = accountant_client.get(TRY, params)
    assert len(response.context["results"]) == 33
