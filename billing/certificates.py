"""The tax-deduction certificate (KND 1151156, "Справка об оплате медицинских услуг для
представления в налоговый орган", the form of the Federal Tax Service's order
ЕА-7-11/824@ of 08.11.2023): what was paid in a year for the patient's medical services,
split by the service code (1 ordinary, 2 expensive treatment).

**What counts as paid in a year**: the money that reached the patient's invoices in that
year (by any method or from the deposit), less the payments rolled back or refunded in that
year; a prepayment counts when it pays an invoice, not when it is put on the deposit. An
invoice's paid money is split between the codes in proportion to its lines' totals, the
expensive share rounded to kopecks and the rest ordinary.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from billing.certificate_models import TaxCertificate
from billing.models import InvoiceLine, LedgerEntry
from clinic import audit, events, numbering
from clinic.models import Organization
from clinic.money import round_money
from clinic.tz import local_day_bounds
from patients.models import DocumentType, Patient
from pricelist.models import TaxCode

ZERO = Decimal("0.00")
# The first year the current form applies to (it replaced the 2001 form from 2024).
FIRST_YEAR = 2024
REPRESENTATIVE = "representative"
# The codes of the identity documents the form asks for (the tax office's reference book).
DOCUMENT_CODES = {DocumentType.PASSPORT: "21", DocumentType.OTHER: "91"}


@dataclass(frozen=True)
class Amounts:
    ordinary: Decimal
    expensive: Decimal

    @property
    def total(self) -> Decimal:
        return self.ordinary + self.expensive


def year_bounds(year: int) -> tuple[datetime.datetime, datetime.datetime]:
    zone = Organization.load().time_zone
    start = local_day_bounds(datetime.date(year, 1, 1), zone)[0]
    end = local_day_bounds(datetime.date(year, 12, 31), zone)[1]
    return start, end


def paid_in_year(patient: Patient, year: int) -> Amounts:
    """Two queries: the money that reached each invoice in the year, and the invoices' line
    totals by tax code."""
    start, end = year_bounds(year)
    paid = dict(
        LedgerEntry.objects.filter(
            invoice__patient=patient,
            payment__isnull=False,
            created_at__gte=start,
            created_at__lt=end,
        )
        .values("invoice")
        .annotate(paid=Sum("amount"))
        .order_by()
        .values_list("invoice", "paid")
    )
    by_code: dict[int, dict[int, Decimal]] = {}
    rows = (
        InvoiceLine.objects.filter(invoice__in=list(paid))
        .values("invoice", "service__tax_code")
        .annotate(total=Sum("total"))
        .order_by()
    )
    for row in rows:
        by_code.setdefault(row["invoice"], {})[row["service__tax_code"]] = row["total"]
    ordinary = expensive = ZERO
    for invoice_id, amount in paid.items():
        amount = max(amount, ZERO)
        codes = by_code.get(invoice_id, {})
        lines_total = sum(codes.values(), ZERO)
        share = (
            round_money(amount * codes.get(TaxCode.EXPENSIVE, ZERO) / lines_total)
            if lines_total
            else ZERO
        )
        expensive += share
        ordinary += amount - share
    return Amounts(ordinary, expensive)


def taxpayer_choices(patient: Patient) -> list[tuple[str, str]]:
    """Who may be named the taxpayer: the patient, the family's members, the representative."""
    choices = [(str(patient.pk), _("%(name)s (the patient)") % {"name": patient.full_name})]
    if patient.family_id:
        relatives = Patient.objects.filter(family_id=patient.family_id).exclude(pk=patient.pk)
        choices += [(str(p.pk), p.full_name) for p in relatives.order_by("last_name", "pk")]
    representative = getattr(patient, "representative", None)
    if representative is not None:
        choices.append(
            (
                REPRESENTATIVE,
                _("%(name)s (legal representative)") % {"name": representative.full_name},
            )
        )
    return choices


def _person(person, *, with_inn: bool) -> dict:
    document = getattr(person, "document_type", DocumentType.PASSPORT)
    if document == DocumentType.OTHER:
        number = person.other_document
    else:
        number = " ".join(p for p in (person.passport_series, person.passport_number) if p)
    return {
        "name": person.full_name,
        "last_name": person.last_name,
        "first_name": person.first_name,
        "middle_name": person.middle_name,
        "inn": person.inn if with_inn else "",
        "birth_date": person.birth_date.isoformat() if person.birth_date else "",
        "document_code": DOCUMENT_CODES.get(document, "91"),
        "document_number": number,
        "document_issued_on": (
            person.passport_issued_on.isoformat()
            if getattr(person, "passport_issued_on", None)
            else ""
        ),
    }


def _check_person(details: dict, role: str) -> None:
    """The form's rule: a person without an INN is identified by date of birth and document."""
    if details["inn"]:
        return
    if not details["birth_date"] or not details["document_number"]:
        raise ValidationError(
            _(
                "The %(role)s has no INN: fill in the date of birth and the identity "
                "document (series and number) in their card."
            )
            % {"role": role},
            code="person_incomplete",
        )


def _organization() -> dict:
    organization = Organization.load()
    if not organization.inn or (len(organization.inn) == 10 and not organization.kpp):
        raise ValidationError(
            _(
                "Fill in the organization's INN and KPP in Settings -> Organization: the "
                "certificate cannot be issued without them."
            ),
            code="organization_incomplete",
        )
    return {
        "name": organization.legal_name or organization.name,
        "inn": organization.inn,
        "kpp": organization.kpp,
        "license": organization.medical_license,
        "license_issued_on": (
            organization.license_issued_on.isoformat() if organization.license_issued_on else ""
        ),
    }


def check_year(year: int, today: datetime.date) -> None:
    if not FIRST_YEAR <= year <= today.year:
        raise ValidationError(
            _("Choose a year from %(first)s to %(last)s.")
            % {"first": FIRST_YEAR, "last": today.year},
            code="year",
        )


def certificate_issue(
    *, patient: Patient, year: int, taxpayer: str, by, today: datetime.date
) -> TaxCertificate:
    """Issue the certificate (numbered per tax year without gaps) with a copy of what it says."""
    check_year(year, today)
    with transaction.atomic():
        return _issue(patient=patient, year=year, taxpayer=taxpayer, by=by, correction_of=None)


def certificate_correct(*, certificate: TaxCertificate, by) -> TaxCertificate:
    """A corrected certificate: same number, the next correction number, sums read anew."""
    taxpayer = str(certificate.taxpayer_id) if certificate.taxpayer_id else REPRESENTATIVE
    with transaction.atomic():
        return _issue(
            patient=certificate.patient,
            year=certificate.tax_year,
            taxpayer=taxpayer,
            by=by,
            correction_of=certificate,
        )


def _issue(
    *, patient: Patient, year: int, taxpayer: str, by, correction_of: TaxCertificate | None
) -> TaxCertificate:
    payer: Patient | None
    if taxpayer == REPRESENTATIVE:
        representative = getattr(patient, "representative", None)
        if representative is None:
            raise ValidationError(_("The patient has no legal representative."), code="taxpayer")
        payer, payer_details = None, _person(representative, with_inn=False)
    else:
        allowed = {value for value, _label in taxpayer_choices(patient)}
        if taxpayer not in allowed:
            raise ValidationError(
                _("The taxpayer must be the patient, a family member or the representative."),
                code="taxpayer",
            )
        payer = patient if taxpayer == str(patient.pk) else Patient.objects.get(pk=int(taxpayer))
        payer_details = _person(payer, with_inn=True)
    _check_person(payer_details, _("taxpayer"))
    patient_details = _person(patient, with_inn=True)
    if payer is None or payer.pk != patient.pk:
        _check_person(patient_details, _("patient"))
    amounts = paid_in_year(patient, year)
    if not amounts.total:
        raise ValidationError(
            _("Nothing was paid for this patient's services in %(year)s.") % {"year": year},
            code="nothing_paid",
        )
    if correction_of is None:
        number = numbering.next_number(f"tax-certificate:{year}")
        correction = 0
    else:
        number = correction_of.number
        correction = (
            TaxCertificate.objects.filter(tax_year=year, number=number)
            .order_by("-correction")
            .values_list("correction", flat=True)
            .first()
            or 0
        ) + 1
    certificate = TaxCertificate.objects.create(
        number=number,
        correction=correction,
        tax_year=year,
        patient=patient,
        taxpayer=payer,
        amount_ordinary=amounts.ordinary,
        amount_expensive=amounts.expensive,
        details={
            "organization": _organization(),
            "taxpayer": payer_details,
            "patient": patient_details,
            "signer": (by.get_full_name() or by.get_username()) if by else "",
        },
        issued_by=by,
    )
    audit.record_created(
        actor=by,
        obj=certificate,
        patient_id=patient.pk,
        fields=["number", "correction", "tax_year", "amount_ordinary", "amount_expensive"],
    )
    events.publish(
        "tax_certificate.issued",
        certificate,
        {
            "patient_id": patient.pk,
            "number": certificate.display_number,
            "year": year,
            "total": str(amounts.total),
        },
        actor=by,
    )
    return certificate
