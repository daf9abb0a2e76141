"""The clinical record: the ICD-10 reference book, the dated records of the dental chart, the
medical history, the images (X-rays and photos), the orthodontic card."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clinic import teeth
from clinic.files import RandomName
from clinic.models import ReferenceItem
from clinic.models.organization import BranchScopedQuerySet
from clinic.softdelete import AliveManager, SoftDeleteModel
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


class OrthodonticCardStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("orthodontic card", "Open")
    CLOSED = "closed", pgettext_lazy("orthodontic card", "Closed")


class OrthodonticCard(SoftDeleteModel):
    """A patient's orthodontic card (form 043-1/u); a patient may have several, numbered
    1, 2... Its sections (``clinical.orthodontics.SECTIONS``) are rows of their own."""

    patient = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,
        related_name="orthodontic_cards",
        verbose_name=_("patient"),
    )
    number = models.PositiveSmallIntegerField(_("number"))
    opened_on = models.DateField(_("opened"), default=timezone.localdate)
    doctor = models.ForeignKey(
        "clinic.Employee",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("orthodontist"),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=OrthodonticCardStatus.choices,
        default=OrthodonticCardStatus.OPEN,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(SoftDeleteModel.Meta):
        verbose_name = _("orthodontic card")
        verbose_name_plural = _("orthodontic cards")
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "number"], name="clinical_ortho_card_patient_number"
            ),
        ]

    def __str__(self) -> str:
        return _("Orthodontic card No. %(number)s") % {"number": self.number}


class OrthodonticSection(models.Model):
    """One section of an orthodontic card: its values as JSON, validated by the section's
    form on the way in; a diary section holds its dated entries in a list."""

    card = models.ForeignKey(
        OrthodonticCard, on_delete=models.CASCADE, related_name="sections", verbose_name=_("card")
    )
    key = models.CharField(_("section"), max_length=32)
    data = models.JSONField(_("values"), default=dict)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("orthodontic card section")
        verbose_name_plural = _("orthodontic card sections")
        constraints = [
            models.UniqueConstraint(fields=["card", "key"], name="clinical_ortho_section_key"),
        ]

    def __str__(self) -> str:
        return f"{self.card_id}:{self.key}"


class ImageKind(models.TextChoices):
    PHOTO = "photo", _("Photo")
    XRAY = "xray", _("X-ray")


class XrayType(models.TextChoices):
    INTRAORAL = "intraoral", _("Intraoral")
    BITEWING = "bitewing", _("Bitewing")
    PANORAMIC = "panoramic", _("Panoramic")
    CEPHALOMETRIC = "cephalometric", _("Cephalometric")
    CBCT = "cbct", _("CBCT")


class ImageFormat(models.TextChoices):
    """What the file's content says it is (never its name or the browser's type)."""

    JPEG = "jpeg", "JPEG"
    PNG = "png", "PNG"
    DICOM = "dicom", "DICOM"


# A dental CBCT with a large field of view gives about 1 mSv; 10 mSv for one entry is a
# typing error (a dose in µSv typed as mSv), not an exposure.
MAX_DOSE_MSV = Decimal("10")


class ClinicalImageQuerySet(BranchScopedQuerySet):
    def of_live_cards(self) -> "ClinicalImageQuerySet":
        return self.filter(deleted_at__isnull=True, patient__deleted_at__isnull=True)

    def with_tooth(self, tooth: int) -> "ClinicalImageQuerySet":
        """Images attached to ``tooth`` (teeth are stored as ",36,46,": no 16 inside 116)."""
        return self.filter(teeth__contains=f",{tooth},")


class ClinicalImage(SoftDeleteModel):
    """An X-ray or a photo of a patient, attached to teeth and maybe to a visit.

    The file is stored under a random name and served through ``clinic.files``; a JPEG or PNG
    also has a small JPEG ``preview`` for the card's grid. An X-ray keeps what the X-ray log
    needs: its type, the number of exposures and the effective dose, who took it and when."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="images", verbose_name=_("patient")
    )
    # Where it was taken: the X-ray log is kept per branch.
    branch = models.ForeignKey(
        "clinic.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("branch")
    )
    appointment = models.ForeignKey(
        "calendar_app.Appointment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("visit"),
    )
    # FDI numbers as ",36,46," (commas around each, so one tooth is found by ",36,").
    teeth = models.CharField(_("teeth"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=ImageKind.choices)
    file_format = models.CharField(_("format"), max_length=8, choices=ImageFormat.choices)
    file = models.FileField(_("file"), upload_to=RandomName("clinical/images"), max_length=200)
    preview = models.FileField(
        _("preview"), upload_to=RandomName("clinical/previews"), max_length=200, blank=True
    )
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    size = models.PositiveBigIntegerField(_("size, bytes"), default=0)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    modality = models.CharField(_("DICOM modality"), max_length=16, blank=True)
    xray_type = models.CharField(
        _("X-ray type"), max_length=16, choices=XrayType.choices, blank=True
    )
    exposures = models.PositiveSmallIntegerField(_("exposures"), null=True, blank=True)
    dose_msv = models.DecimalField(
        _("effective dose, mSv"), max_digits=6, decimal_places=3, null=True, blank=True
    )
    taken_at = models.DateTimeField(_("taken"), default=timezone.now)
    taken_by = models.ForeignKey(
        "clinic.Employee",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("taken by"),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = AliveManager.from_queryset(ClinicalImageQuerySet)()  # type: ignore[assignment,misc]
    all_objects = models.Manager.from_queryset(ClinicalImageQuerySet)()  # type: ignore[assignment,misc]

    class Meta(SoftDeleteModel.Meta):
        verbose_name = _("clinical image")
        verbose_name_plural = _("clinical images")
        ordering = ["-taken_at", "-pk"]
        indexes = [
            models.Index(fields=["patient", "taken_at"], name="clinical_image_patient_idx"),
            models.Index(fields=["branch", "kind", "taken_at"], name="clinical_image_log_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind=ImageKind.PHOTO)
                    & Q(xray_type="")
                    & Q(exposures__isnull=True)
                    & Q(dose_msv__isnull=True)
                )
                | (
                    Q(kind=ImageKind.XRAY)
                    & ~Q(xray_type="")
                    & Q(exposures__gte=1)
                    & Q(dose_msv__gte=0)
                    & Q(dose_msv__lte=MAX_DOSE_MSV)
                ),
                name="clinical_image_xray_fields",
            ),
        ]

    def __str__(self) -> str:
        what = (
            self.get_xray_type_display() if self.kind == ImageKind.XRAY else self.get_kind_display()
        )  # type: ignore[attr-defined]
        return f"{what} {timezone.localtime(self.taken_at):%d.%m.%Y}"

    @property
    def teeth_list(self) -> list[int]:
        return [int(t) for t in self.teeth.split(",") if t]

    @property
    def is_xray(self) -> bool:
        return self.kind == ImageKind.XRAY

    @property
    def is_dicom(self) -> bool:
        return self.file_format == ImageFormat.DICOM


class PerioExam(SoftDeleteModel):
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

    class Meta(SoftDeleteModel.Meta):
        verbose_name = _("periodontal exam")
        verbose_name_plural = _("periodontal exams")
        ordering = ["-examined_on", "-pk"]
        indexes = [
            models.Index(fields=["patient", "examined_on"], name="clinical_perio_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.examined_on:%d.%m.%Y}"


# --- Treatment plans (issue 10, stories 5 and 6) --------------------------------------------


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class TreatmentPlanQuerySet(models.QuerySet):
    def for_user(self, user) -> "TreatmentPlanQuerySet":
        """The plans of the user's branches (every branch for a superuser): 404 outside."""
        from clinic.models import Branch
        from clinic.models.organization import sees_every_branch

        if sees_every_branch(user):
            return self
        return self.filter(branch__in=Branch.objects.for_user(user))


class TreatmentPlan(models.Model):
    """A patient's numbered plan: stages of lines (a service, a tooth, a quantity, the price
    it had when added). Edited only as a draft; only an approved plan is invoiced."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="treatment_plans", verbose_name=_("patient")
    )
    number = models.PositiveIntegerField(_("number"))
    title = models.CharField(_("title"), max_length=200, blank=True)
    doctor = models.ForeignKey(
        "clinic.Employee",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("doctor"),
    )
    branch = models.ForeignKey(
        "clinic.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("branch")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(_("completed or cancelled"), null=True, blank=True)

    objects = TreatmentPlanQuerySet.as_manager()

    class Meta:
        verbose_name = _("treatment plan")
        verbose_name_plural = _("treatment plans")
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "number"], name="clinical_plan_unique_number_per_patient"
            ),
        ]

    def __str__(self) -> str:
        return _("Treatment plan No. %(number)s") % {"number": self.number}

    @property
    def is_draft(self) -> bool:
        return self.status == PlanStatus.DRAFT


class PlanStage(models.Model):
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("order"), default=1)

    class Meta:
        verbose_name = _("plan stage")
        verbose_name_plural = _("plan stages")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name


class PlanLineStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    DONE = "done", _("Done")


class PlanLine(models.Model):
    """One service of a plan, on one tooth or none, at the price it had when added."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="lines")
    stage = models.ForeignKey(
        PlanStage, on_delete=models.CASCADE, related_name="lines", verbose_name=_("stage")
    )
    service = models.ForeignKey(
        "pricelist.Service", on_delete=models.PROTECT, related_name="+", verbose_name=_("service")
    )
    tooth = models.PositiveSmallIntegerField(_("tooth"), null=True, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    diagnosis = models.ForeignKey(
        Diagnosis,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("diagnosis"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=PlanLineStatus.choices, default=PlanLineStatus.PLANNED
    )
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    # The visit that booked the line (calendar_app sits below clinical but books lines later;
    # a plain id keeps the plan free of the calendar's deletions).
    appointment_id = models.BigIntegerField(null=True, blank=True)
    position = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("plan line")
        verbose_name_plural = _("plan lines")
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="clinical_planline_quantity"),
            models.CheckConstraint(condition=Q(price__gte=0), name="clinical_planline_price"),
            models.CheckConstraint(
                condition=Q(tooth__isnull=True)
                | (Q(tooth__gte=11) & Q(tooth__lte=teeth.MAX_TOOTH)),
                name="clinical_planline_fdi_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} × {self.quantity}"

    @property
    def amount(self):
        from clinic.money import round_money

        return round_money(self.price * self.quantity)


class PlanTemplate(ReferenceItem):
    """A reference book entry: the services (by doctor profession, with hours) that treat a
    set of diagnoses; "Suggest" ranks them by the diagnoses they cover."""

    description = models.TextField(_("description"), blank=True)
    diagnoses = models.ManyToManyField(Diagnosis, related_name="+", verbose_name=_("diagnoses"))

    class Meta(ReferenceItem.Meta):
        verbose_name = _("treatment plan template")
        verbose_name_plural = _("treatment plan templates")

    def __str__(self) -> str:
        return self.name


class PlanTemplateLine(models.Model):
    template = models.ForeignKey(PlanTemplate, on_delete=models.CASCADE, related_name="lines")
    service = models.ForeignKey(
        "pricelist.Service", on_delete=models.PROTECT, related_name="+", verbose_name=_("service")
    )
    profession = models.ForeignKey(
        "clinic.Profession",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("profession"),
    )
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=2, default=0)
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)
    position = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("plan template line")
        verbose_name_plural = _("plan template lines")
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="clinical_ptline_quantity"),
            models.CheckConstraint(condition=Q(hours__gte=0), name="clinical_ptline_hours"),
        ]

    def __str__(self) -> str:
        return f"{self.template_id}: {self.service_id}"
