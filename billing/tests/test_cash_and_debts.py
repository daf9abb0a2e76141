"""The cash desk day and the debts list: sums by method and cashier, refunds as money out,
the debtors with their oldest invoice, filters, export, branch scoping and query counts."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import cash as cash_desk
from billing import debts, services
from clinic import testing
from clinic.money import round_money
from patients.tests.factories import PatientFactory

from .factories import card, cash, completed_visit, issued_invoice, service

pytestmark = pytest.mark.django_db

D = Decimal


def test_the_day_sums_what_came_in_by_method_and_refunds_as_money_out(branch, admin_persona):
    by = admin_persona.user
    patient = PatientFactory()
    invoice = issued_invoice(branch, by, patient, prices=("3000.00",))
    [by_cash] = services.invoice_pay(invoice=invoice, amount=D("1000"), method=cash(), by=by)
    services.invoice_pay(invoice=invoice, amount=D("1500"), method=card(), by=by)
    services.deposit_top_up(patient=patient, amount=D("700"), method=cash(), branch=branch, by=by)
    services.payment_refund(
        payment=by_cash, amount=D("200"), method=cash(), by=by, reason="возврат"
    )
    day = cash_desk.cash_day(branch, timezone.localtime(timezone.now(), branch.zone).date())
    rows = {row.label: row for row in day.by_method}
    assert rows[cash().name].came_in == D("1700.00")
    assert rows[cash().name].went_out == D("200.00")
    assert rows[card().name].came_in == D("1500.00")
    assert day.net == D("3000.00")
    assert [row.net for row in day.by_cashier] == [D("3000.00")]
    # Paying from the deposit moves no money through the till.
    other = issued_invoice(branch, by, patient, prices=("100.00",))
    services.invoice_pay(invoice=other, amount=D("100"), method=None, by=by)
    again = cash_desk.cash_day(branch, day.day)
    assert again.net == day.net


def test_another_branchs_till_is_not_reachable(branch, admin_persona, client):
    elsewhere = testing.other_branch()
    issued = issued_invoice(elsewhere, admin_persona.user, prices=("500.00",))
    services.invoice_pay(invoice=issued, amount=D("500"), method=cash(), by=admin_persona.user)
    registrar = testing.make_persona("management", branch, username="cashier1")
    client.force_login(registrar.user)
    response = client.get(reverse("billing:cash-day"), {"branch": elsewhere.pk})
    assert response.status_code == 400
    page = client.get(reverse("billing:cash-day")).content.decode()
    assert "500,00" not in page


def test_the_cash_page_refuses_hostile_dates_and_exports(branch, admin_persona, admin_client):
    issued = issued_invoice(branch, admin_persona.user, prices=("800.00",))
    services.invoice_pay(invoice=issued, amount=D("800"), method=cash(), by=admin_persona.user)
    url = reverse("billing:cash-day")
    for day in ("0001-01-01", "9999-12-31", "2026-13-45", "x\x00"):
        assert admin_client.get(url, {"branch": branch.pk, "day": day}).status_code == 400
    page = admin_client.get(url, {"branch": branch.pk})
    assert page.status_code == 200
    assert "data-cash-total" in page.content.decode()
    export = admin_client.get(url, {"branch": branch.pk, "export": "csv"})
    assert "800" in b"".join(export.streaming_content).decode("utf-8-sig")


def test_debtors_are_summed_per_patient_with_their_oldest_invoice(branch, admin_persona, doctor):
    by = admin_persona.user
    owes = PatientFactory(last_name="Должникова")
    paid_up = PatientFactory(last_name="Расплатилова")
    first = issued_invoice(branch, by, owes, prices=("1000.00",))
    issued_invoice(branch, by, owes, prices=("500.00",))
    services.invoice_pay(invoice=first, amount=D("400"), method=cash(), by=by)
    settled = issued_invoice(branch, by, paid_up, prices=("300.00",))
    services.invoice_pay(invoice=settled, amount=D("300"), method=cash(), by=by)
    today = timezone.localdate()
    rows = debts.debtors(debts.per_patient(debts.open_invoices(by)), today=today)
    assert [(row.patient, row.debt, row.invoices) for row in rows] == [(owes, D("1100.00"), 2)]
    assert rows[0].age_days == 0
    assert debts.summary(debts.open_invoices(by)) == debts.Summary(1, D("1100.00"))
    assert not debts.open_invoices(by, query="Расплат").exists()
    # Paying the rest closes the debt; a refund opens it again.
    [payment] = services.invoice_pay(invoice=first, amount=D("600"), method=cash(), by=by)
    services.payment_refund(payment=payment, amount=D("100"), by=by, reason="возврат")
    first.refresh_from_db()
    assert first.due == D("100.00")
    assert debts.summary(debts.open_invoices(by)).total == D("600.00")


def test_the_debts_list_filters_by_doctor_and_branch_and_hides_other_branches(
    branch, admin_persona, doctor, client
):
    by = admin_persona.user
    visit = completed_visit(branch, doctor.employee, prices=("900.00",))
    invoice = services.invoice_create_from_visit(appointment=visit, by=by)
    services.invoice_issue(invoice=invoice, by=by)
    issued_invoice(branch, by, PatientFactory(last_name="Безврачова"), prices=("200.00",))
    elsewhere = issued_invoice(
        testing.other_branch(), by, PatientFactory(last_name="Чужедолгова"), prices=("700.00",)
    )
    manager = testing.make_persona("management", branch, username="debts-manager")
    client.force_login(manager.user)
    url = reverse("billing:debts")
    page = client.get(url).content.decode()
    assert "Безврачова" in page and visit.patient.last_name in page
    assert "Чужедолгова" not in page
    by_doctor = client.get(url, {"doctor": doctor.employee.pk}).content.decode()
    assert visit.patient.last_name in by_doctor and "Безврачова" not in by_doctor
    assert client.get(url, {"branch": elsewhere.branch_id}).status_code == 400
    export = client.get(url, {"export": "xlsx"})
    assert export.status_code == 200


def test_the_debts_list_reads_the_same_number_of_queries_for_more_debtors(
    branch, admin_persona, admin_client, django_assert_max_num_queries
):
    by = admin_persona.user
    issued_invoice(branch, by, prices=("100.00",))
    url = reverse("billing:debts")
    with django_assert_max_num_queries(40) as few:
        admin_client.get(url)
    for _ in range(8):
        issued_invoice(branch, by, prices=("100.00",))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(url)
    assert response.content.decode().count("data-debtor=") == 9


def test_a_months_income_is_shared_among_the_doctors_lines_in_proportion(
    branch, admin_persona, doctor, admin_client, django_assert_max_num_queries
):
    from billing import income
    from clinic.tests.factories import EmployeeFactory

    by = admin_persona.user
    other = EmployeeFactory(last_name="Второва")
    invoice = services.invoice_create(
        patient=PatientFactory(),
        branch=branch,
        by=by,
        lines=[
            services.LineInput(service=service("3000"), doctor=doctor.employee),
            services.LineInput(service=service("1000"), doctor=other),
        ],
    )
    services.invoice_issue(invoice=invoice, by=by)
    services.invoice_pay(invoice=invoice, amount=D("2000"), method=cash(), by=by)
    month = timezone.localtime(timezone.now(), branch.zone).date()
    rows = {row.doctor: row for row in income.income_by_doctor(branch, month)}
    assert rows[doctor.employee].invoiced == D("3000.00")
    assert rows[doctor.employee].paid == D("1500.00")
    assert rows[other].paid == D("500.00")
    url = reverse("billing:income")
    with django_assert_max_num_queries(30):
        page = admin_client.get(url, {"branch": branch.pk, "month": month.strftime("%Y-%m")})
    assert "data-income-total" in page.content.decode()
    for bad in ("0001-01", "9999-99", "x"):
        assert admin_client.get(url, {"month": bad}).status_code == 400


def test_income_shares_are_worked_out_in_decimal_to_the_kopeck(branch, admin_persona, doctor):
    from billing import income
    from clinic.tests.factories import EmployeeFactory

    by = admin_persona.user
    other = EmployeeFactory(last_name="Третьева")
    invoice = services.invoice_create(
        patient=PatientFactory(),
        branch=branch,
        by=by,
        lines=[
            services.LineInput(service=service("1000"), doctor=doctor.employee),
            services.LineInput(service=service("1000"), doctor=other),
            services.LineInput(service=service("1000"), doctor=other),
        ],
    )
    services.invoice_issue(invoice=invoice, by=by)
    services.invoice_pay(invoice=invoice, amount=D("1000"), method=cash(), by=by)
    month = timezone.localtime(timezone.now(), branch.zone).date()
    rows = {row.doctor: row.paid for row in income.income_by_doctor(branch, month)}
    assert rows == {doctor.employee: D("333.33"), other: D("666.67")}
    # The quickstart's way (SQLite) gives the same shares as PostgreSQL's, to the kopeck.
    start, end = income.month_bounds(branch, month)
    by_sql = income.paid_by_doctor_in_sql(branch, start, end)
    by_python = income.paid_by_doctor_in_python(branch, start, end)
    assert {k: round_money(v) for k, v in by_sql.items()} == {
        k: round_money(v) for k, v in by_python.items()
    }
