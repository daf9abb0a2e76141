"""A draft invoice changed: the service (lines, quantities, discounts, the note, totals to
the kopeck, billed once, audit and event) and the dialog (pre-filled, saved, services added,
rights, another branch, hostile input, its query count)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.amounts import DiscountAsked
from billing.models import Invoice, InvoiceLine, InvoiceStatus, LedgerEntry
from clinic.models import AuditEntry, OutboxEvent
from clinic.tests.factories import EmployeeFactory
from patients.tests.factories import PatientFactory
from pricelist.models import Service
from pricelist.tests.factories import BranchListFactory, ServiceCategoryFactory, priced

from .discount_factories import DiscountFactory
from .factories import completed_visit, issued_invoice, service

pytestmark = pytest.mark.django_db

D = Decimal
HX = {"HTTP_HX_REQUEST": "true"}


def draft(branch, user, patient=None, prices=("1000.00", "500.00"), **kwargs):
    lines = [services.LineInput(service=service(price)) for price in prices]
    return services.invoice_create(
        patient=patient or PatientFactory(), branch=branch, by=user, lines=lines, **kwargs
    )


@pytest.fixture
def accountant_client(client, accountant):
    """Works in one branch: the staff of another is not in the lists."""
    client.force_login(accountant.user)
    return client


def edit_url(invoice) -> str:
    return reverse("billing:invoice-edit", args=[invoice.pk])


# --- The service --------------------------------------------------------------------------


def test_a_draft_gets_new_lines_quantities_discounts_and_note_with_totals_to_the_kopeck(
    branch, admin_persona
):
    user = admin_persona.user
    invoice = draft(branch, user, discount=DiscountAsked(amount=D("50")))
    first, _second = services.lines_from_invoice(invoice).values()
    first.quantity = 3
    first.discount = DiscountAsked(amount=D("100"))
    added = services.LineInput(
        service=service("333.33"), quantity=3, discount=DiscountAsked(percent=D("15"))
    )
    changed = services.invoice_update(
        invoice=invoice,
        lines=[first, added],  # the second line is gone
        by=user,
        discount=DiscountAsked(percent=D("10")),
        note="Оплата частями",
    )
    a, c = InvoiceLine.objects.filter(invoice=invoice).order_by("position")
    assert (a.quantity, a.price, a.amount, a.discount) == (3, D("1000.00"), D("3000.00"), D(100))
    assert c.amount == D("999.99") and c.discount == D("150.00")  # 149.9985 half up
    # 10% of 2900.00 + 849.99 = 374.999 -> 375.00, spread 290.00 and 85.00.
    assert (a.invoice_discount, c.invoice_discount) == (D("290.00"), D("85.00"))
    assert (a.total, c.total) == (D("2610.00"), D("764.99"))
    invoice.refresh_from_db()
    assert invoice == changed
    assert (invoice.subtotal, invoice.discount_total, invoice.total) == (
        D("3999.99"),
        D("625.00"),
        D("3374.99"),
    )
    assert (invoice.discount_percent, invoice.discount_amount, invoice.discount_label) == (
        D("10.00"),
        None,
        "10%",
    )
    assert invoice.note == "Оплата частями"
    assert invoice.status == InvoiceStatus.DRAFT and invoice.number is None


def test_a_drafts_lines_keep_their_prices_and_typed_discounts(branch, admin_persona):
    kept = service("1000.00")
    invoice = services.invoice_create(
        patient=PatientFactory(),
        branch=branch,
        by=admin_persona.user,
        lines=[
            services.LineInput(service=kept, tooth=36, discount=DiscountAsked(percent=D("12.5")))
        ],
        discount=DiscountAsked(amount=D("20.50")),
    )
    Service.objects.filter(pk=kept.pk).update(price=D("1200.00"))
    [line] = services.lines_from_invoice(invoice).values()
    assert (line.price, line.tooth, line.discount) == (
        D("1000.00"),
        36,
        DiscountAsked(percent=D("12.5")),
    )
    assert services.invoice_discount(invoice) == DiscountAsked(amount=D("20.50"))
    services.invoice_update(
        invoice=invoice,
        lines=[line],
        by=admin_persona.user,
        discount=services.invoice_discount(invoice),
    )
    invoice.refresh_from_db()
    assert invoice.total == D("1000.00") - D("125.00") - D("20.50")
    assert invoice.lines.get().price == D("1000.00")


@pytest.mark.parametrize("status", ["issued", "rolled_back"])
def test_only_a_draft_is_changed(branch, admin_persona, status):
    user = admin_persona.user
    invoice = issued_invoice(branch, user, prices=("1000.00",))
    if status == "rolled_back":
        services.invoice_rollback(invoice=invoice, by=user, reason="ошибка")
    lines = list(services.lines_from_invoice(invoice).values())
    with pytest.raises(ValidationError) as refused:
        services.invoice_update(invoice=invoice, lines=lines, by=user, note="x")
    assert refused.value.code == "not_draft"
    assert "Only a draft invoice is changed." in refused.value.messages
    invoice.refresh_from_db()
    assert invoice.note == "" and invoice.lines.count() == 1


def test_an_edit_without_lines_is_refused(branch, admin_persona):
    invoice = draft(branch, admin_persona.user)
    with pytest.raises(ValidationError) as refused:
        services.invoice_update(invoice=invoice, lines=[], by=admin_persona.user)
    assert refused.value.code == "empty"
    assert invoice.lines.count() == 2


def test_billed_once_ignores_the_drafts_own_lines_but_catches_another_invoice(
    branch, admin_persona
):
    user = admin_persona.user
    visit = completed_visit(branch, admin_persona.employee, prices=("1000.00", "700.00"))
    from_visit = services.invoice_create_from_visit(appointment=visit, by=user)
    lines = list(services.lines_from_invoice(from_visit).values())
    assert all(line.appointment_service is not None for line in lines)
    services.invoice_update(invoice=from_visit, lines=lines[:1], by=user)
    assert from_visit.lines.get().appointment_service == lines[0].appointment_service
    other = draft(branch, user, visit.patient, prices=("100.00",))
    with pytest.raises(ValidationError) as refused:
        services.invoice_update(
            invoice=other,
            lines=[*services.lines_from_invoice(other).values(), lines[0]],
            by=user,
        )
    assert refused.value.code == "already_billed"
    # The line the draft let go may be billed elsewhere.
    services.invoice_update(
        invoice=other, lines=[*services.lines_from_invoice(other).values(), lines[1]], by=user
    )
    assert other.lines.count() == 2


def test_another_patients_visit_line_is_refused(branch, admin_persona):
    user = admin_persona.user
    visit = completed_visit(branch, admin_persona.employee)
    theirs = services.lines_from_visit(visit)
    invoice = draft(branch, user)
    with pytest.raises(ValidationError, match="another patient"):
        services.invoice_update(invoice=invoice, lines=theirs, by=user)


def test_the_change_is_audited_and_published(
    branch, admin_persona, django_capture_on_commit_callbacks
):
    from patients import timeline
    from patients.models import PatientEvent

    user = admin_persona.user
    invoice = draft(branch, user, prices=("1000.00", "500.00"))
    first = next(iter(services.lines_from_invoice(invoice).values()))
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_update(invoice=invoice, lines=[first], by=user, note="Без второй")
    entry = AuditEntry.objects.filter(object_id=str(invoice.pk), action="update").get()
    assert entry.changes["total"] == ["1500.00", "1000.00"]
    assert entry.changes["lines"] == [2, 1]
    assert entry.changes["note"] == ["", "Без второй"]
    assert entry.patient_id == invoice.patient_id
    event = OutboxEvent.objects.get(name="invoice.changed")
    assert event.payload["patient_id"] == invoice.patient_id
    assert event.payload["invoice_id"] == invoice.pk
    assert D(event.payload["total"]) == D("1000.00")
    assert D(event.payload["previous_total"]) == D("1500.00")
    shown = PatientEvent.objects.get(patient=invoice.patient, name="invoice.changed")
    assert timeline.render(shown)[1] == "Draft invoice changed: 1\u00a0500,00 → 1\u00a0000,00"


def test_the_discounts_engine_decides_again_for_the_lines_without_their_own(branch, admin_persona):
    ten = DiscountFactory(name="Десять", value=D("10"))
    patient = PatientFactory()
    invoice = draft(branch, admin_persona.user, patient, prices=("1000.00",), chosen_discount=ten)
    assert invoice.total == D("900.00")
    assert services.engine_discount_of(invoice) == ten.pk
    [line] = services.lines_from_invoice(invoice).values()
    assert line.discount is None  # the engine's, not typed
    line.quantity = 2
    services.invoice_update(
        invoice=invoice, lines=[line], by=admin_persona.user, chosen_discount=ten
    )
    invoice.refresh_from_db()
    assert invoice.total == D("1800.00")
    assert invoice.lines.get().discount_ref == ten.pk
    services.invoice_update(invoice=invoice, lines=[line], by=admin_persona.user)
    invoice.refresh_from_db()
    assert invoice.total == D("2000.00")


# --- The dialog ---------------------------------------------------------------------------


def test_the_dialog_shows_the_draft_as_it_stands(admin_client, admin_persona, branch):
    assistant = EmployeeFactory(last_name="Ассистентова", branches=[branch])
    invoice = services.invoice_create(
        patient=PatientFactory(),
        branch=branch,
        by=admin_persona.user,
        lines=[
            services.LineInput(
                service=service("1000.00"),
                quantity=2,
                discount=DiscountAsked(percent=D("10")),
                doctor=admin_persona.employee,
                assistant=assistant,
            ),
            services.LineInput(service=service("500.00"), discount=DiscountAsked(amount=D("50"))),
        ],
        discount=DiscountAsked(amount=D("30")),
        note="Позвонить",
    )
    first, second = invoice.lines.order_by("position")
    response = admin_client.get(edit_url(invoice), **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert 'data-invoice-form="edit"' in html and f'action="{edit_url(invoice)}"' in html
    assert f'name="line" value="{first.pk}" checked' in html
    assert f'name="line" value="{second.pk}" checked' in html
    assert f'name="quantity-{first.pk}" class="form-control form-control-sm"' in html
    assert 'value="2"' in html
    assert 'value="10%"' in html and 'value="50"' in html  # as the cashier typed them
    assert f'<option value="{admin_persona.employee.pk}" selected>' in html
    assert f'<option value="{assistant.pk}" selected>' in html
    assert 'name="discount" value="30"' in html
    assert "Позвонить</textarea>" in html
    assert 'name="branch"' not in html


def test_the_dialog_reads_in_russian(admin_client, admin_persona, branch):
    invoice = draft(branch, admin_persona.user)
    html = admin_client.get(edit_url(invoice), HTTP_ACCEPT_LANGUAGE="ru", **HX).content.decode()
    assert "Черновик счёта" in html and "Сохранить черновик" in html
    assert "Добавить услуги" in html
    issued = issued_invoice(branch, admin_persona.user)
    refused = admin_client.get(edit_url(issued), HTTP_ACCEPT_LANGUAGE="ru", **HX)
    assert refused.status_code == 422
    assert "Изменить можно только черновик счёта." in refused.content.decode()


def test_saving_the_dialog_changes_the_draft_and_closes(admin_client, admin_persona, branch):
    invoice = draft(branch, admin_persona.user, prices=("1000.00", "500.00", "200.00"))
    first, second, third = invoice.lines.order_by("position")
    other_doctor = EmployeeFactory(branches=[branch])
    response = admin_client.post(
        edit_url(invoice),
        {
            "line": [first.pk, third.pk],  # the second unticked
            f"quantity-{first.pk}": "2",
            f"discount-{first.pk}": "10%",
            f"doctor-{first.pk}": other_doctor.pk,
            f"quantity-{second.pk}": "1",
            f"quantity-{third.pk}": "1",
            f"discount-{third.pk}": "",
            "discount": "100",
            "note": "Исправлено",
        },
        **HX,
    )
    assert response.status_code == 204, response.content.decode()
    assert "billingChanged" in response["HX-Trigger"] and "closeDialog" in response["HX-Trigger"]
    invoice.refresh_from_db()
    lines = list(invoice.lines.order_by("position"))
    assert [(line.price, line.quantity) for line in lines] == [
        (D("1000.00"), 2),
        (D("200.00"), 1),
    ]
    assert lines[0].discount == D("200.00") and lines[0].doctor == other_doctor
    assert invoice.total == D("2000.00") - D("200.00") + D("200.00") - D("100.00")
    assert invoice.note == "Исправлено" and invoice.status == InvoiceStatus.DRAFT


def test_the_drafts_tab_offers_edit_to_those_who_may_change(
    admin_client, doctor, admin_persona, branch
):
    invoice = draft(branch, admin_persona.user)
    issued = issued_invoice(branch, admin_persona.user, patient=invoice.patient)
    url = reverse("billing:payments", args=[invoice.patient_id])
    html = admin_client.get(url).content.decode()
    assert html.count("data-invoice-edit") == 1
    assert f'data-dialog-url="{edit_url(invoice)}"' in html
    assert edit_url(issued) not in html
    doctor_client = Client()
    doctor_client.force_login(doctor.user)
    assert "data-invoice-edit" not in doctor_client.get(url).content.decode()


def test_without_the_billing_change_right_the_dialog_is_403(doctor_client, admin_persona, branch):
    invoice = draft(branch, admin_persona.user)
    assert doctor_client.get(edit_url(invoice)).status_code == 403
    posted = doctor_client.post(edit_url(invoice), {"line": [], "note": "x"})
    assert posted.status_code == 403
    assert invoice.lines.count() == 2


def test_another_branchs_draft_is_404(accountant_client, admin_persona, branch_elsewhere):
    client = accountant_client
    theirs = draft(branch_elsewhere, admin_persona.user)
    line = theirs.lines.first()
    assert client.get(edit_url(theirs)).status_code == 404
    posted = client.post(
        edit_url(theirs),
        {"line": [line.pk], "note": "чужое", "service-add-0": service("100.00").pk},
    )
    assert posted.status_code == 404
    theirs.refresh_from_db()
    assert theirs.note == "" and theirs.lines.count() == 2
    assert client.get(reverse("billing:invoice-edit", args=[2**63])).status_code == 404


def test_an_issued_invoice_is_not_changed_through_the_dialog(admin_client, admin_persona, branch):
    invoice = issued_invoice(branch, admin_persona.user)
    line = invoice.lines.get()
    response = admin_client.post(edit_url(invoice), {"line": [line.pk], "note": "x"}, **HX)
    assert response.status_code == 422
    assert "Only a draft invoice is changed." in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.note == ""


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("quantity", "-1", "A quantity is a whole number."),
        ("quantity", "0", "A quantity is from 1 to 999."),
        ("quantity", "²", "A quantity is a whole number."),
        ("discount-line", "abc%", "A discount is a percent"),
        ("discount-line", "5000", "larger than the amount"),
        ("doctor", str(2**63), "Choose a doctor or an assistant from the list."),
        ("doctor", "foreign", "Choose a doctor or an assistant from the list."),
        ("assistant", "-1", "Choose a doctor or an assistant from the list."),
        ("line", str(2**63), "The draft has changed meanwhile"),
        ("none", "", "An invoice needs at least one service."),
        ("discount", "-5", "Check the discount and the note."),
    ],
)
def test_bad_input_is_refused_with_422_and_the_message(
    accountant_client, admin_persona, branch, branch_elsewhere, field, value, message
):
    invoice = draft(branch, admin_persona.user, prices=("1000.00",), note="Было")
    line = invoice.lines.get()
    data = {"line": [line.pk], f"quantity-{line.pk}": "1", "note": "Стало"}
    if field == "doctor" and value == "foreign":
        value = str(EmployeeFactory(branches=[branch_elsewhere]).pk)
    if field in ("quantity", "doctor", "assistant"):
        data[f"{field}-{line.pk}"] = value
    elif field == "discount-line":
        data[f"discount-{line.pk}"] = value
    elif field == "line":
        data["line"] = [line.pk, value]
    elif field == "none":
        data["line"] = []
    else:
        data[field] = value
    response = accountant_client.post(edit_url(invoice), data, **HX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "data-invoice-error" in html and message in html
    assert 'name="note"' in html  # the dialog again, as it was filled in
    invoice.refresh_from_db()
    assert invoice.note == "Было" and invoice.total == D("1000.00")


def test_a_nul_byte_is_refused_with_400(admin_client, admin_persona, branch):
    invoice = draft(branch, admin_persona.user)
    response = admin_client.post(edit_url(invoice), {"note": "a\x00b"}, **HX)
    assert response.status_code == 400
    invoice.refresh_from_db()
    assert invoice.note == ""


def test_the_dialog_reads_a_fixed_number_of_queries(
    admin_client, admin_persona, branch, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = admin_persona.user
    visit = completed_visit(branch, admin_persona.employee, prices=("100.00",))
    small = services.invoice_create_from_visit(appointment=visit, by=user)
    admin_client.get(edit_url(small))  # warm the session and the caches
    with CaptureQueriesContext(connection) as few:
        admin_client.get(edit_url(small))
    other_doctor = EmployeeFactory(branches=[branch])
    big_visit = completed_visit(branch, other_doctor, visit.patient, prices=("100.00",) * 8)
    big = services.invoice_create_from_visit(appointment=big_visit, by=user)
    with django_assert_max_num_queries(len(few)):
        response = admin_client.get(edit_url(big))
    assert response.content.decode().count('name="line" value=') == 8
    # Saving reads no more per line either.
    data = {"line": [line.pk for line in big.lines.all()], "note": "x"}
    small_data = {"line": [line.pk for line in small.lines.all()], "note": "x"}
    with CaptureQueriesContext(connection) as saved_small:
        assert admin_client.post(edit_url(small), small_data).status_code == 204
    with django_assert_max_num_queries(len(saved_small)):
        assert admin_client.post(edit_url(big), data).status_code == 204
    assert Invoice.objects.get(pk=big.pk).lines.count() == 8


# --- Services added in the dialog ---------------------------------------------------------


def kept_lines(invoice) -> dict:
    """What posting the draft's lines as they stand looks like."""
    data: dict = {"line": [], "note": invoice.note}
    for line in invoice.lines.all():
        data["line"].append(line.pk)
        data[f"quantity-{line.pk}"] = str(line.quantity)
    return data


def test_the_dialog_offers_three_empty_service_rows_from_the_price_list(
    admin_client, admin_persona, branch
):
    invoice = draft(branch, admin_persona.user)
    listed = service("300.00", name="Герметизация фиссуры")
    html = admin_client.get(edit_url(invoice), **HX).content.decode()
    assert "data-invoice-add-lines" in html and "Add services" in html
    for key in ("add-0", "add-1", "add-2"):
        assert f'data-invoice-row="{key}"' in html
        assert f'name="service-{key}"' in html and f'name="tooth-{key}"' in html
    assert 'name="service-add-3"' not in html
    assert html.count(f'<option value="{listed.pk}">{listed.code} Герметизация фиссуры') == 3
    assert " selected>" not in html.split("data-invoice-add-lines")[1].split("<select")[1]


def test_a_service_added_to_a_draft_is_priced_from_the_branchs_list_and_recorded(
    admin_client, admin_persona, branch
):
    invoice = draft(branch, admin_persona.user, prices=("1000.00", "500.00"))
    added = service("1000.00")
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    priced(added, "1300.00", on=yesterday, price_list=BranchListFactory(branch=branch))
    response = admin_client.post(
        edit_url(invoice), {**kept_lines(invoice), "service-add-0": added.pk}, **HX
    )
    assert response.status_code == 204, response.content.decode()
    assert "billingChanged" in response["HX-Trigger"]
    invoice.refresh_from_db()
    first, second, new = invoice.lines.order_by("position")
    assert (first.price, second.price) == (D("1000.00"), D("500.00"))
    assert (new.service, new.tooth, new.quantity, new.price) == (added, None, 1, D("1300.00"))
    assert new.appointment_service is None and new.plan_line is None
    assert invoice.total == D("2800.00") and invoice.status == InvoiceStatus.DRAFT
    assert not LedgerEntry.objects.filter(patient=invoice.patient).exists()  # a draft
    entry = AuditEntry.objects.get(object_id=str(invoice.pk), action="update")
    assert entry.changes["lines"] == [2, 3]
    assert entry.changes["total"] == ["1500.00", "2800.00"]
    event = OutboxEvent.objects.get(name="invoice.changed")
    assert D(event.payload["previous_total"]) == D("1500.00")
    assert D(event.payload["total"]) == D("2800.00")
    # The same price a new invoice of that service in the branch gets.
    made = services.invoice_create(
        patient=PatientFactory(),
        branch=branch,
        by=admin_persona.user,
        lines=[services.LineInput(service=added)],
    )
    assert made.lines.get().price == new.price


def test_a_service_is_added_on_a_tooth_with_a_quantity_discount_and_staff(
    admin_client, admin_persona, branch
):
    invoice = draft(branch, admin_persona.user, prices=("1000.00",))
    added = service("800.00")
    assistant = EmployeeFactory(branches=[branch])
    data = {
        **kept_lines(invoice),
        "service-add-1": added.pk,
        "tooth-add-1": "36",
        "quantity-add-1": "2",
        "discount-add-1": "10%",
        "doctor-add-1": admin_persona.employee.pk,
        "assistant-add-1": assistant.pk,
    }
    response = admin_client.post(edit_url(invoice), data, **HX)
    assert response.status_code == 204, response.content.decode()
    _kept, new = invoice.lines.order_by("position")
    assert (new.service, new.tooth, new.quantity) == (added, 36, 2)
    assert (new.price, new.amount, new.discount, new.total) == (
        D("800.00"),
        D("1600.00"),
        D("160.00"),
        D("1440.00"),
    )
    assert new.discount_label == "10%"
    assert (new.doctor, new.assistant) == (admin_persona.employee, assistant)
    invoice.refresh_from_db()
    assert invoice.total == D("2440.00")


def test_empty_service_rows_add_nothing(admin_client, admin_persona, branch):
    invoice = draft(branch, admin_persona.user, prices=("1000.00", "500.00"))
    before = list(invoice.lines.values_list("service", "price", "quantity"))
    data = kept_lines(invoice)
    for key in ("add-0", "add-1", "add-2"):  # as the browser posts the untouched rows
        data.update({f"service-{key}": "", f"tooth-{key}": "", f"quantity-{key}": "1"})
        data.update({f"discount-{key}": "", f"doctor-{key}": "", f"assistant-{key}": ""})
    response = admin_client.post(edit_url(invoice), data, **HX)
    assert response.status_code == 204, response.content.decode()
    assert list(invoice.lines.values_list("service", "price", "quantity")) == before
    invoice.refresh_from_db()
    assert invoice.total == D("1500.00")


def deleted_service(user) -> str:
    from clinic.services import object_soft_delete

    gone = service("100.00")
    object_soft_delete(obj=gone, by=user)
    return str(gone.pk)


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("service", "999999999", "Choose a service from the price list."),
        ("service", "deleted", "Choose a service from the price list."),
        ("service", "abc", "Choose a service from the price list."),
        ("service", str(2**63), "Choose a service from the price list."),
        ("service", "9" * 30, "Choose a service from the price list."),
        ("service", "²", "Choose a service from the price list."),
        ("tooth", "99", "There is no tooth 99 in the FDI numbering."),
        ("tooth", "abc", "A tooth is its FDI number (11-85)."),
        ("tooth", "360", "A tooth is its FDI number (11-85)."),
        ("quantity", "0", "A quantity is from 1 to 999."),
        ("quantity", "-1", "A quantity is a whole number."),
        ("quantity", "99999", "A quantity is a whole number."),
        ("quantity", "1.5", "A quantity is a whole number."),
        ("discount", "abc%", "A discount is a percent"),
        ("doctor", str(2**63), "Choose a doctor or an assistant from the list."),
    ],
)
def test_a_bad_service_row_is_refused_with_422_and_writes_nothing(
    accountant_client, admin_persona, branch, field, value, message
):
    invoice = draft(branch, admin_persona.user, prices=("1000.00",), note="Было")
    if value == "deleted":
        value = deleted_service(admin_persona.user)
    lines_before = list(invoice.lines.values_list("pk", flat=True))
    audited = AuditEntry.objects.count()
    data = {**kept_lines(invoice), "note": "Стало", "service-add-2": service("300.00").pk}
    data[f"{field}-add-2"] = value
    response = accountant_client.post(edit_url(invoice), data, **HX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "data-invoice-error" in html and message in html
    assert 'name="service-add-2"' in html  # the dialog again
    invoice.refresh_from_db()
    assert invoice.note == "Было" and invoice.total == D("1000.00")
    assert list(invoice.lines.values_list("pk", flat=True)) == lines_before
    assert AuditEntry.objects.count() == audited
    assert not OutboxEvent.objects.filter(name="invoice.changed").exists()


def test_a_nul_byte_in_a_service_row_is_refused_with_400(admin_client, admin_persona, branch):
    invoice = draft(branch, admin_persona.user)
    for field in ("service-add-0", "tooth-add-0", "quantity-add-0"):
        data = {**kept_lines(invoice), "service-add-0": service("300.00").pk, field: "1\x00"}
        assert admin_client.post(edit_url(invoice), data, **HX).status_code == 400
    assert invoice.lines.count() == 2
    assert not OutboxEvent.objects.filter(name="invoice.changed").exists()


def test_a_refused_save_shows_the_service_rows_as_posted(admin_client, admin_persona, branch):
    invoice = draft(branch, admin_persona.user, prices=("1000.00",))
    chosen = service("300.00")
    data = {
        **kept_lines(invoice),
        "service-add-0": chosen.pk,
        "tooth-add-0": "36",
        "quantity-add-0": "2",
        "discount-add-0": "10%",
        "doctor-add-0": admin_persona.employee.pk,
        "service-add-1": chosen.pk,
        "quantity-add-1": "0",  # the refusal
    }
    response = admin_client.post(edit_url(invoice), data, **HX)
    assert response.status_code == 422
    html = response.content.decode()
    rows = html.split("data-invoice-add-lines")[1].split("<tr data-invoice-row=")
    first, second, third = (row.split("</tr>")[0] for row in rows[1:])
    assert f'<option value="{chosen.pk}" selected>' in first
    assert 'value="36"' in first and 'value="2"' in first and 'value="10%"' in first
    assert f'<option value="{admin_persona.employee.pk}" selected>' in first
    assert f'<option value="{chosen.pk}" selected>' in second and 'value="0"' in second
    assert " selected>" not in third and 'name="quantity-add-2"' in third
    assert invoice.lines.count() == 1


def test_the_service_rows_read_the_price_list_in_one_query(
    admin_client, admin_persona, branch, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    invoice = draft(branch, admin_persona.user, prices=("100.00",))
    admin_client.get(edit_url(invoice))  # warm the session and the caches
    with CaptureQueriesContext(connection) as few:
        admin_client.get(edit_url(invoice))
    more = [
        service("10.00", category=ServiceCategoryFactory(name=f"Раздел {n % 5}")) for n in range(30)
    ]
    with django_assert_max_num_queries(len(few)):
        html = admin_client.get(edit_url(invoice)).content.decode()
    assert html.count(f'<option value="{more[-1].pk}">') == 3
    # Saving reads no more per service added either.
    one = {**kept_lines(invoice), "service-add-0": more[0].pk}
    with CaptureQueriesContext(connection) as saved_one:
        assert admin_client.post(edit_url(invoice), one).status_code == 204
    three = {**kept_lines(invoice), **{f"service-add-{i}": more[i].pk for i in range(3)}}
    with django_assert_max_num_queries(len(saved_one)):
        assert admin_client.post(edit_url(invoice), three).status_code == 204
    assert invoice.lines.count() == 5
