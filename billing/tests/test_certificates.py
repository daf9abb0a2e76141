"""The tax-deduction certificate (KND 1151156): the year's sums by service code, the taxpayer,
the register's numbering and corrections, the PDF's text, and the views' refusals."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from billing import certificates, services
from billing.certificate_models import TaxCertificate
from clinic.models import Organization, OutboxEvent
from documents.tests.pdf import pdf_text
from patients.models import Family, LegalRepresentative
from patients.tests.factories import PatientFactory
from pricelist.models import TaxCode

from .factories import cash, service

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = datetime.date(2026, 11, 26)


@pytest.fixture(autouse=True)
def organization(db):
    organization = Organization.load()
    organization.legal_name = 'ООО "Одонта"'
    organization.inn = "7701234567"
    organization.kpp = "770101001"
    organization.medical_license = "Л041-01137-77/00368107"
    organization.save()
    Organization.forget_cached()
    return organization


def paid_invoice(branch, user, patient, lines, paid):
    invoice = services.invoice_create(
        patient=patient,
        branch=branch,
        by=user,
        lines=[services.LineInput(service=s) for s in lines],
    )
    services.invoice_issue(invoice=invoice, by=user)
    services.invoice_pay(invoice=invoice, amount=D(paid), method=cash(), by=user)
    return invoice


def a_patient(**kwargs):
    defaults = {
        "inn": "",
        "birth_date": datetime.date(1980, 5, 17),
        "passport_series": "4510",
        "passport_number": "123456",
    }
    return PatientFactory(**{**defaults, **kwargs})


def test_the_years_payments_are_split_by_service_code_in_proportion(branch, admin_persona):
    patient = a_patient()
    ordinary = service("3000.00")
    implant = service("7000.00", tax_code=TaxCode.EXPENSIVE)
    paid_invoice(branch, admin_persona.user, patient, [ordinary, implant], "5000.00")
    amounts = certificates.paid_in_year(patient, timezone.localdate().year)
    assert amounts == certificates.Amounts(D("1500.00"), D("3500.00"))


def test_a_prepayment_counts_when_it_pays_an_invoice_and_a_rollback_takes_it_back(
    branch, admin_persona
):
    by = admin_persona.user
    patient = a_patient()
    services.deposit_top_up(patient=patient, amount=D("900"), method=cash(), branch=branch, by=by)
    year = timezone.localdate().year
    assert certificates.paid_in_year(patient, year).total == 0
    invoice = services.invoice_create(
        patient=patient, branch=branch, by=by, lines=[services.LineInput(service=service("600"))]
    )
    services.invoice_issue(invoice=invoice, by=by)
    [payment] = services.invoice_pay(invoice=invoice, amount=D("600"), method=None, by=by)
    assert certificates.paid_in_year(patient, year).total == D("600.00")
    services.payment_rollback(payment=payment, by=by, reason="ошибка")
    assert certificates.paid_in_year(patient, year).total == 0


def test_other_years_and_other_patients_do_not_count(branch, admin_persona):
    patient, other = a_patient(), a_patient()
    paid_invoice(branch, admin_persona.user, other, [service("1000")], "1000")
    paid_invoice(branch, admin_persona.user, patient, [service("400")], "400")
    year = timezone.localdate().year
    assert certificates.paid_in_year(patient, year).total == D("400.00")
    assert certificates.paid_in_year(patient, year - 1).total == 0


def test_issuing_numbers_per_year_keeps_a_copy_and_publishes_an_event(branch, admin_persona):
    by = admin_persona.user
    first, second = a_patient(inn="500100732259"), a_patient()
    for patient in (first, second):
        paid_invoice(branch, by, patient, [service("1000")], "1000")
    year = timezone.localdate().year
    one = certificates.certificate_issue(
        patient=first, year=year, taxpayer=str(first.pk), by=by, today=timezone.localdate()
    )
    two = certificates.certificate_issue(
        patient=second, year=year, taxpayer=str(second.pk), by=by, today=timezone.localdate()
    )
    assert (one.number, two.number) == (1, 2)
    assert one.taxpayer_is_patient
    assert one.details["organization"]["inn"] == "7701234567"
    assert one.details["taxpayer"]["inn"] == "500100732259"
    assert OutboxEvent.objects.filter(name="tax_certificate.issued").count() == 2
    # The copy stays as issued when the card changes.
    first.last_name = "Другая"
    first.save()
    one.refresh_from_db()
    assert one.details["taxpayer"]["last_name"] != "Другая"


def test_a_correction_keeps_the_number_and_reads_the_sums_anew(branch, admin_persona):
    by = admin_persona.user
    patient = a_patient()
    paid_invoice(branch, by, patient, [service("1000")], "1000")
    year = timezone.localdate().year
    original = certificates.certificate_issue(
        patient=patient, year=year, taxpayer=str(patient.pk), by=by, today=timezone.localdate()
    )
    paid_invoice(branch, by, patient, [service("250")], "250")
    corrected = certificates.certificate_correct(certificate=original, by=by)
    again = certificates.certificate_correct(certificate=original, by=by)
    assert (corrected.number, corrected.correction) == (original.number, 1)
    assert again.correction == 2
    assert corrected.total == D("1250.00")
    assert original.total == D("1000.00")


def test_a_relative_of_the_family_or_the_representative_may_be_the_taxpayer(branch, admin_persona):
    by = admin_persona.user
    family = Family.objects.create(name="Налоговы")
    child = a_patient(family=family, birth_date=datetime.date(2015, 1, 2))
    mother = a_patient(family=family, inn="500100732259")
    paid_invoice(branch, by, child, [service("1000")], "1000")
    year = timezone.localdate().year
    choices = dict(certificates.taxpayer_choices(child))
    assert str(mother.pk) in choices
    certificate = certificates.certificate_issue(
        patient=child, year=year, taxpayer=str(mother.pk), by=by, today=timezone.localdate()
    )
    assert not certificate.taxpayer_is_patient
    assert certificate.details["patient"]["name"] == child.full_name

    LegalRepresentative.objects.create(
        patient=child,
        last_name="Опекунова",
        first_name="Ольга",
        birth_date=datetime.date(1970, 1, 1),
        passport_series="4511",
        passport_number="654321",
    )
    by_representative = certificates.certificate_issue(
        patient=child,
        year=year,
        taxpayer=certificates.REPRESENTATIVE,
        by=by,
        today=timezone.localdate(),
    )
    assert by_representative.taxpayer is None
    assert by_representative.details["taxpayer"]["last_name"] == "Опекунова"


def test_refusals_explain_what_is_missing(branch, admin_persona, organization):
    by = admin_persona.user
    year = timezone.localdate().year
    today = timezone.localdate()
    stranger = a_patient()
    nobody_paid = a_patient()
    with pytest.raises(ValidationError, match="Nothing was paid"):
        certificates.certificate_issue(
            patient=nobody_paid, year=year, taxpayer=str(nobody_paid.pk), by=by, today=today
        )
    patient = a_patient()
    paid_invoice(branch, by, patient, [service("100")], "100")
    with pytest.raises(ValidationError, match="taxpayer must be"):
        certificates.certificate_issue(
            patient=patient, year=year, taxpayer=str(stranger.pk), by=by, today=today
        )
    with pytest.raises(ValidationError, match="year from 2024"):
        certificates.certificate_issue(
            patient=patient, year=2023, taxpayer=str(patient.pk), by=by, today=today
        )
    undocumented = PatientFactory(inn="", passport_series="", passport_number="")
    paid_invoice(branch, by, undocumented, [service("100")], "100")
    with pytest.raises(ValidationError, match="has no INN"):
        certificates.certificate_issue(
            patient=undocumented, year=year, taxpayer=str(undocumented.pk), by=by, today=today
        )
    organization.inn = ""
    organization.save()
    Organization.forget_cached()
    with pytest.raises(ValidationError, match="organization's INN"):
        certificates.certificate_issue(
            patient=patient, year=year, taxpayer=str(patient.pk), by=by, today=today
        )
    assert not TaxCertificate.objects.exists()


def test_the_dialog_issues_and_the_pdf_holds_the_sums_and_the_names(
    branch, admin_persona, admin_client
):
    patient = a_patient(last_name="Налогова")
    paid_invoice(branch, admin_persona.user, patient, [service("1234.50")], "1234.50")
    year = timezone.localdate().year
    url = reverse("billing:certificate-new", args=[patient.pk])
    preview = admin_client.get(url, {"year": year, "taxpayer": patient.pk})
    assert preview.status_code == 200
    assert "1\u00a0234,50" in preview.content.decode()
    response = admin_client.post(url, {"year": year, "taxpayer": patient.pk})
    certificate = TaxCertificate.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:certificate-done", args=[certificate.pk])
    pdf = admin_client.get(reverse("billing:certificate-pdf", args=[certificate.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "1151156" in text
    assert "Налогова" in text
    assert "7701234567" in text
    assert "1 234,50" in text.replace("\u00a0", " ")
    register = admin_client.get(reverse("billing:certificates"), {"year": year, "q": "Налогова"})
    assert f'data-certificate="{certificate.pk}"' in register.content.decode()
    export = admin_client.get(reverse("billing:certificates"), {"export": "csv"})
    assert "Налогова" in b"".join(export.streaming_content).decode("utf-8-sig")


def test_the_dialog_refuses_bad_input_with_a_message(branch, admin_persona, admin_client):
    patient = a_patient()
    url = reverse("billing:certificate-new", args=[patient.pk])
    assert admin_client.post(url, {"year": "1", "taxpayer": patient.pk}).status_code == 400
    assert admin_client.post(url, {"year": "2025", "taxpayer": "99999999999"}).status_code == 400
    refused = admin_client.post(url, {"year": timezone.localdate().year, "taxpayer": patient.pk})
    assert refused.status_code == 422
    assert "Nothing was paid" in refused.content.decode()
    assert admin_client.get(reverse("billing:certificate-new", args=[2**62])).status_code == 404


def test_a_doctor_may_not_issue_a_certificate(doctor_client):
    patient = a_patient()
    response = doctor_client.post(
        reverse("billing:certificate-new", args=[patient.pk]),
        {"year": 2025, "taxpayer": patient.pk},
    )
    assert response.status_code == 403
    assert not TaxCertificate.objects.exists()


def test_an_issued_certificate_reads_in_words_on_the_history_tab(
    branch, admin_persona, django_capture_on_commit_callbacks
):
    from patients import timeline
    from patients.models import PatientEvent

    patient = a_patient()
    paid_invoice(branch, admin_persona.user, patient, [service("700")], "700")
    with django_capture_on_commit_callbacks(execute=True):
        certificate = certificates.certificate_issue(
            patient=patient,
            year=timezone.localdate().year,
            taxpayer=str(patient.pk),
            by=admin_persona.user,
            today=timezone.localdate(),
        )
    entry = PatientEvent.objects.get(patient=patient, name="tax_certificate.issued")
    text = timeline.render(entry)[1]
    assert text == (
        f"Tax certificate No. {certificate.number} for {certificate.tax_year} issued: 700,00"
    )
