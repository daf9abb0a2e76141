"""The tax certificate's print layout and its line on the patient's timeline."""

import datetime

from django.utils.translation import gettext as _

from billing.certificate_models import TaxCertificate
from clinic.money import format_money
from documents import rendering
from patients import timeline


def _certificate_context(certificate: TaxCertificate, ctx) -> dict:
    details = certificate.details

    def day(value: str) -> str:
        return datetime.date.fromisoformat(value).strftime("%d.%m.%Y") if value else ""

    people = {}
    for role in ("taxpayer", "patient"):
        person = dict(details.get(role, {}))
        person["birth_date"] = day(person.get("birth_date", ""))
        person["document_issued_on"] = day(person.get("document_issued_on", ""))
        people[role] = person
    return {
        "certificate": certificate,
        "organization": details.get("organization", {}),
        "taxpayer": people["taxpayer"],
        "patient": people["patient"],
        "same_person": certificate.taxpayer_is_patient,
        "signer": details.get("signer", ""),
    }


rendering.register_layout(
    rendering.Layout(
        "tax_certificate",
        "billing/print/tax_certificate.html",
        title=lambda certificate: (
            _("Tax certificate %(number)s for %(year)s")
            % {"number": certificate.display_number, "year": certificate.tax_year}
        ),
        context=_certificate_context,
    )
)


timeline.describe(
    "tax_certificate.issued",
    "file-earmark-text",
    lambda p: (
        _("Tax certificate No. %(number)s for %(year)s issued: %(total)s")
        % {
            "number": p.get("number", ""),
            "year": p.get("year", ""),
            "total": format_money(p.get("total") or "0"),
        }
    ),
)
