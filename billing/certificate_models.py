"""The register of tax-deduction certificates (KND 1151156). ``billing.models`` imports it.

A certificate is a document given to the tax office: once issued its text never changes, so
it keeps a copy of everything it prints (the clinic's and the people's details, the sums);
a mistake is corrected by a new certificate with the same number and the next correction
number, as the form's instructions say.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Patient


class TaxCertificate(models.Model):
    number = models.PositiveIntegerField(_("number"))
    correction = models.PositiveSmallIntegerField(_("correction number"), default=0)
    tax_year = models.PositiveSmallIntegerField(_("tax year"))
    patient = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,
        related_name="tax_certificates",
        verbose_name=_("patient"),
    )
    # Who paid and claims the deduction: the patient, a relative with a card of their own,
    # or (none here) the patient's legal representative, whose details are in ``details``.
    taxpayer = models.ForeignKey(
        Patient,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("taxpayer"),
    )
    amount_ordinary = models.DecimalField(
        _("service code 1"), max_digits=12, decimal_places=2, default=0
    )
    amount_expensive = models.DecimalField(
        _("service code 2"), max_digits=12, decimal_places=2, default=0
    )
    # What the certificate prints, as it was printed: the organization, the taxpayer and the
    # patient (name, INN, date of birth, document), the signer.
    details = models.JSONField(default=dict)
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("tax certificate")
        verbose_name_plural = _("tax certificates")
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tax_year", "number", "correction"], name="tax_certificate_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(amount_ordinary__gte=0) & Q(amount_expensive__gte=0),
                name="tax_certificate_amounts_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["patient", "tax_year"], name="tax_cert_patient_year_idx")]

    def __str__(self) -> str:
        return _("Certificate No. %(number)s for %(year)s") % {
            "number": self.display_number,
            "year": self.tax_year,
        }

    @property
    def display_number(self) -> str:
        return f"{self.number}" if not self.correction else f"{self.number}-{self.correction}"

    @property
    def total(self):
        return self.amount_ordinary + self.amount_expensive

    @property
    def taxpayer_is_patient(self) -> bool:
        return self.taxpayer_id == self.patient_id
