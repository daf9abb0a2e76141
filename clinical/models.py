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


class RecordSection(models.TextChoices):
    """The sections of a medical record, in the order the form and the print show them."""

    COMPLAINTS = "complaints", _("Complaints")
    ANAMNESIS = "anamnesis", _("Anamnesis")
    OBJECTIVE = "objective", _("Objective status")
    LOCAL_STATUS = "local_status", _("St. localis")
    TREATMENT = "treatment", _("Treatment")
    RECOMMENDATIONS = "recommendations", _("Recommendations")


class SectionTexts(models.Model):
    """The text sections of a medical record (``RecordSection``), also a template's."""

    complaints = models.TextField(_("complaints"), blank=True)
    anamnesis = models.TextField(_("anamnesis"), blank=True)
    objective = models.TextField(_("objective status"), blank=True)
    local_status = models.TextField(_("St. localis"), blank=True)
    treatment = models.TextField(_("treatment"), blank=True)
    recommendations = models.TextField(_("recommendations"), blank=True)

    class Meta:
        abstract = True


class MedicalHistoryTemplate(ReferenceItem, SectionTexts):
    """Ready text for the sections of a medical record, for the doctors of one profession."""

    profession = models.ForeignKey(
        "clinic.Profession",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("profession"),
    )

    class Meta(ReferenceItem.Meta):
        verbose_name = _("medical history template")
        verbose_name_plural = _("medical history templates")
        ordering = ["profession__name", "position", "name"]

    def __str__(self) -> str:
        return self.name


class MedicalRecordQuerySet(models.QuerySet):
    def current(self) -> "MedicalRecordQuerySet":
        """The latest version of each record (a corrected one is kept, superseded)."""
        return self.filter(superseded_at__isnull=True)


class MedicalRecord(SectionTexts):
    """One visit's record in the medical history. Edited freely until signed; signing locks
    it, and a correction after that adds a new version (``previous``) with its reason and
    marks the signed one superseded: a signed version is never changed."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="medical_records", verbose_name=_("patient")
    )
    appointment = models.ForeignKey(
        "calendar_app.Appointment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("visit"),
    )
    doctor = models.ForeignKey(
        "clinic.Employee", on_delete=models.PROTECT, related_name="+", verbose_name=_("doctor")
    )
    recorded_on = models.DateField(_("date"), default=timezone.localdate)
    teeth = models.CharField(_("teeth"), max_length=200, blank=True)
    diagnoses = models.ManyToManyField(
        Diagnosis, related_name="+", verbose_name=_("diagnoses (ICD-10)")
    )
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_version"
    )
    correction_reason = models.CharField(_("reason for the correction"), max_length=500, blank=True)
    signed_at = models.DateTimeField(_("signed"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = MedicalRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("medical record")
        verbose_name_plural = _("medical records")
        ordering = ["-recorded_on", "-pk"]
        indexes = [
            models.Index(fields=["patient", "recorded_on"], name="clinical_mrec_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.recorded_on:%d.%m.%Y} v{self.version}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def teeth_list(self) -> list[int]:
        return [int(t) for t in self.teeth.split(",") if t]


class Recommendation(models.Model):
    """A recommendation of a record as a row of its own, for the report that counts them
    per doctor; rewritten with the record's text."""

    record = models.ForeignKey(
        MedicalRecord, on_delete=models.CASCADE, related_name="recommendation_rows"
    )
    doctor = models.ForeignKey("clinic.Employee", on_delete=models.PROTECT, related_name="+")
    text = models.CharField(_("recommendation"), max_length=1000)

    class Meta:
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")

    def __str__(self) -> str:
        return self.text


class PerioExam(models.Model):
    """A periodontal exam: a dated snapshot of six sites a tooth (``clinical.perio``).

    ``measurements`` holds, per tooth number (a string key), the lists of its six sites in
    ``perio.SITES`` order (probing depth, gingival margin, bleeding, suppuration, plaque) and
    its mobility and furcation; ``missing`` the teeth not there on the day. One row, one
    query: an exam is read and written whole."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="perio_exams", verbose_name=_("patient")
    )
    appointment = models.ForeignKey(
        "calendar_app.Appointment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("visit"),
    )
    doctor = models.ForeignKey(
        "clinic.Employee", on_delete=models.PROTECT, related_name="+", verbose_name=_("doctor")
    )
    examined_on = models.DateField(_("date"), default=timezone.localdate)
    note = models.TextField(_("note"), blank=True)
    measurements = models.JSONField(_("measurements"), default=dict, blank=True)
    missing = models.JSONField(_("missing teeth"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("periodontal exam")
        verbose_name_plural = _("periodontal exams")
        ordering = ["-examined_on", "-pk"]
        indexes = [
            models.Index(fields=["patient", "examined_on"], name="clinical_perio_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.examined_on:%d.%m.%Y}"
