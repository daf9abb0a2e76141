"""The clinical record: the ICD-10 reference book and the dated records of the dental chart."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.models import ReferenceItem
from clinical import teeth
from patients.models import Patient


class DiagnosisCategory(ReferenceItem):
    """A block of ICD-10 (K02 "Dental caries"), or a category a clinic makes up."""

    code = models.CharField(_("code"), max_length=10, blank=True)

    class Meta(ReferenceItem.Meta):
        verbose_name = _("diagnosis category")
        verbose_name_plural = _("diagnosis categories")
        ordering = ["position", "code", "name"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()


class DiagnosisScope(models.TextChoices):
    TOOTH = "tooth", _("a tooth")
    JAW = "jaw", _("a jaw")
    MOUTH = "mouth", _("the mouth")


class Diagnosis(ReferenceItem):
    """An ICD-10 code with its Russian name (``name``); deactivating it keeps the records that
    name it and takes it off the pickers."""

    code = models.CharField(_("ICD-10 code"), max_length=10)
    category = models.ForeignKey(
        DiagnosisCategory,
        on_delete=models.PROTECT,
        related_name="diagnoses",
        verbose_name=_("category"),
    )
    name_en = models.CharField(_("name in English"), max_length=150, blank=True)
    applies_to = models.CharField(
        _("applies to"), max_length=10, choices=DiagnosisScope.choices, default=DiagnosisScope.TOOTH
    )

    class Meta(ReferenceItem.Meta):
        verbose_name = _("diagnosis")
        verbose_name_plural = _("diagnoses")
        ordering = ["code"]
        constraints = [
            *ReferenceItem.Meta.constraints,
            models.UniqueConstraint(
                "code",
                condition=Q(deleted_at__isnull=True),
                name="clinical_diagnosis_unique_code",
                violation_error_message=_("A diagnosis with this code already exists."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ToothState(models.TextChoices):
    HEALTHY = "healthy", _("Healthy")
    CARIES = "caries", _("Caries")
    PULPITIS = "pulpitis", _("Pulpitis")
    PERIODONTITIS = "periodontitis", _("Periodontitis")
    FILLING = "filling", _("Filling")
    ENDO = "endo", _("Root canal filled")
    CROWN = "crown", _("Crown")
    BRIDGE = "bridge", _("Bridge")
    IMPLANT = "implant", _("Implant")
    ROOT = "root", _("Root")
    MISSING = "missing", _("Missing")


class ToothRecordQuerySet(models.QuerySet):
    def current(self) -> "ToothRecordQuerySet":
        return self.filter(removed_at__isnull=True)

    def as_of(self, moment) -> "ToothRecordQuerySet":
        """The records that stood at ``moment``: recorded by then and not yet removed."""
        return self.filter(recorded_at__lte=moment).filter(
            Q(removed_at__isnull=True) | Q(removed_at__gt=moment)
        )


class ToothRecord(models.Model):
    """One finding on one tooth: a diagnosis, a state, or both, on some of its surfaces.

    Never edited: a correction removes the record (``removed_at``) and adds a new one, so the
    chart as it stood on any day is the records recorded by then and not removed by then."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="tooth_records", verbose_name=_("patient")
    )
    tooth = models.PositiveSmallIntegerField(_("tooth"))
    surfaces = models.CharField(_("surfaces"), max_length=7, blank=True)
    diagnosis = models.ForeignKey(
        Diagnosis,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("diagnosis"),
    )
    state = models.CharField(_("state"), max_length=16, choices=ToothState.choices, blank=True)
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ToothRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("tooth record")
        verbose_name_plural = _("tooth records")
        indexes = [
            models.Index(fields=["patient", "recorded_at"], name="clinical_tooth_patient_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(tooth__gte=11) & Q(tooth__lte=teeth.MAX_TOOTH),
                name="clinical_tooth_fdi_range",
            ),
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | Q(removed_at__gte=models.F("recorded_at")),
                name="clinical_tooth_removed_after_recorded",
            ),
            models.CheckConstraint(
                condition=Q(diagnosis__isnull=False) | ~Q(state=""),
                name="clinical_tooth_diagnosis_or_state",
            ),
        ]

    def __str__(self) -> str:
        what = self.diagnosis.code if self.diagnosis_id else self.get_state_display()  # type: ignore[union-attr]
        return f"{self.tooth}{self.surfaces and ' ' + self.surfaces}: {what}"
