import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Concat, Lower, Replace
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.files import RandomName
from clinic.models import Branch, Employee, Gender, MarketingChannel, PatientGroup
from clinic.models.people import PersonName
from clinic.phones import format_phone
from clinic.softdelete import SoftDeleteModel


class Family(models.Model):
    name = models.CharField(_("family name"), max_length=150)
    card_number = models.CharField(_("family card number"), max_length=30, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("family")
        verbose_name_plural = _("families")
        constraints = [
            models.UniqueConstraint(
                fields=["card_number"],
                condition=~Q(card_number=""),
                name="family_card_number_unique",
                violation_error_message=_("Another family already has this card number."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.card_number})" if self.card_number else self.name


class DocumentType(models.TextChoices):
    PASSPORT = "passport", _("Russian passport")
    OTHER = "other", _("Other document")


class PatientStatus(models.TextChoices):
    PRIMARY = "primary", _("Primary")
    RETURNING = "returning", _("Returning")


class Patient(PersonName, SoftDeleteModel):
    card_number = models.PositiveBigIntegerField(_("card number"), unique=True, editable=False)
    # Main information
    last_name = models.CharField(_("last name"), max_length=100)
    first_name = models.CharField(_("first name"), max_length=100)
    middle_name = models.CharField(_("patronymic"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=16, blank=True)
    email = models.EmailField(_("email"), blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    gender = models.ForeignKey(
        Gender,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("gender"),
    )
    marketing_channel = models.ForeignKey(
        MarketingChannel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patients",
        verbose_name=_("marketing channel"),
    )
    patient_group = models.ForeignKey(
        PatientGroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patients",
        verbose_name=_("patient group (CLV)"),
    )
    messaging_consent = models.BooleanField(_("agrees to SMS and messenger messages"), default=True)
    coordinator = models.ForeignKey(
        Employee,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="coordinated_patients",
        verbose_name=_("coordinator"),
    )
    attending_doctor = models.ForeignKey(
        Employee,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attended_patients",
        verbose_name=_("attending doctor"),
    )
    branch = models.ForeignKey(
        Branch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patients",
        verbose_name=_("branch"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Additional information
    document_type = models.CharField(
        _("identity document"),
        max_length=10,
        choices=DocumentType.choices,
        default=DocumentType.PASSPORT,
    )
    passport_series = models.CharField(_("passport series"), max_length=4, blank=True)
    passport_number = models.CharField(_("passport number"), max_length=6, blank=True)
    passport_issued_by = models.CharField(_("issued by"), max_length=300, blank=True)
    passport_issued_on = models.DateField(_("issued on"), null=True, blank=True)
    passport_department_code = models.CharField(_("department code"), max_length=7, blank=True)
    other_document = models.CharField(
        _("document"),
        max_length=300,
        blank=True,
        help_text=_("For foreign citizens: the document's name, series and number, who issued it."),
    )
    citizenship = models.CharField(_("citizenship"), max_length=100, blank=True)
    snils = models.CharField(_("SNILS"), max_length=11, blank=True)
    inn = models.CharField(_("INN"), max_length=12, blank=True)
    oms_policy = models.CharField(_("OMS policy"), max_length=16, blank=True)
    home_phone = models.CharField(_("home phone"), max_length=16, blank=True)
    # Addresses
    registration_address = models.CharField(_("registration address"), max_length=300, blank=True)
    actual_address = models.CharField(_("actual address"), max_length=300, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    # Family and activity
    family = models.ForeignKey(
        Family,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        verbose_name=_("family"),
    )
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    returning_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    # When the card last changed: a two-way sync compares it with the other side's. Set by
    # every save (``clinic.writes.save_changes`` adds it to ``update_fields``); not moved by
    # ``last_activity_at`` / ``returning_since`` updates, which are no change of the card.
    updated_at = models.DateTimeField(_("changed"), auto_now=True, db_index=True)
    # Search columns, kept by the database itself (bulk imports included).
    search_name = models.GeneratedField(
        # ё is folded to е: people type "Федорова" for "Фёдорова".
        expression=Replace(
            Lower(Concat("last_name", Value(" "), "first_name", Value(" "), "middle_name")),
            Value("ё"),
            Value("е"),
        ),
        output_field=models.CharField(max_length=302),
        db_persist=True,
    )
    search_phones = models.GeneratedField(
        expression=Concat(
            Replace("phone", Value("+"), Value("")),
            Value(" "),
            Replace("home_phone", Value("+"), Value("")),
        ),
        output_field=models.CharField(max_length=40),
        db_persist=True,
    )

    class Meta(SoftDeleteModel.Meta):
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["last_name", "first_name", "middle_name", "id"]
        indexes = [
            models.Index(fields=["phone"], name="patient_phone_idx"),
            models.Index(
                fields=["last_name", "first_name", "birth_date"], name="patient_name_birth_idx"
            ),
            models.Index(fields=["search_name", "id"], name="patient_search_name_order_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(birth_date__isnull=True) | Q(birth_date__gte=datetime.date(1900, 1, 1)),
                name="patient_birth_date_plausible",
            ),
            # One person, one card: SNILS and INN are personal numbers (a phone is not: a
            # family shares one). Cards in the recycle bin do not count until restored.
            models.UniqueConstraint(
                fields=["snils"],
                condition=~Q(snils="") & Q(deleted_at__isnull=True),
                name="patient_snils_unique",
                violation_error_message=_("Another card already has this SNILS."),
            ),
            models.UniqueConstraint(
                fields=["inn"],
                condition=~Q(inn="") & Q(deleted_at__isnull=True),
                name="patient_inn_unique",
                violation_error_message=_("Another card already has this INN."),
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("patients:card", args=[self.pk])

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)

    def age_on(self, day: datetime.date) -> int | None:
        if self.birth_date is None:
            return None
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday

    @property
    def age(self) -> int | None:
        return self.age_on(timezone.localdate())

    def status_at(self, now: datetime.datetime, returning_after_months: int) -> str:
        """Primary from registration through the first course of treatment; returning once
        ``returning_after_months`` pass without activity (and from then on)."""
        if self.returning_since is not None and self.returning_since <= now:
            return PatientStatus.RETURNING
        if self.last_activity_at and now - self.last_activity_at > _months(returning_after_months):
            return PatientStatus.RETURNING
        return PatientStatus.PRIMARY


def _months(count: int) -> datetime.timedelta:
    return datetime.timedelta(days=round(count * 30.44))


class RepresentativeRelation(models.TextChoices):
    MOTHER = "mother", _("Mother")
    FATHER = "father", _("Father")
    GUARDIAN = "guardian", _("Guardian")
    TRUSTEE = "trustee", _("Trustee")
    OTHER = "other", _("Other legal representative")


class LegalRepresentative(PersonName, models.Model):
    """Who signs for a child or a ward: usually not a patient, so a few fields of its own on
    the card (one representative per card). Edited and audited with the card."""

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, related_name="representative", editable=False
    )
    relation = models.CharField(
        _("relation"),
        max_length=10,
        choices=RepresentativeRelation.choices,
        default=RepresentativeRelation.MOTHER,
    )
    last_name = models.CharField(_("last name"), max_length=100)
    first_name = models.CharField(_("first name"), max_length=100)
    middle_name = models.CharField(_("patronymic"), max_length=100, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=16, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    passport_series = models.CharField(_("passport series"), max_length=4, blank=True)
    passport_number = models.CharField(_("passport number"), max_length=6, blank=True)
    passport_issued_by = models.CharField(_("issued by"), max_length=300, blank=True)
    passport_issued_on = models.DateField(_("issued on"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("legal representative")
        verbose_name_plural = _("legal representatives")

    def __str__(self) -> str:
        return self.full_name

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)


class PortalAccount(models.Model):
    """The patient's account in the (future) patient app: a login tied to the card."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="portal_account")
    login = models.CharField(_("login"), max_length=150, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    activated_at = models.DateTimeField(_("activated"))
    deactivated_at = models.DateTimeField(_("deactivated"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("patient portal account")
        verbose_name_plural = _("patient portal accounts")
        indexes = [
            # amoCRM's "Sync app accounts" picks accounts by their activation dates; its
            # daily run, those changed since the last run.
            models.Index(fields=["activated_at"], name="portal_activated_idx"),
            models.Index(fields=["updated_at"], name="portal_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.login


class PatientEvent(models.Model):
    """One line of the patient's timeline, written by a domain-event handler."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="timeline")
    source_event_id = models.BigIntegerField(editable=False)
    name = models.CharField(max_length=100)
    occurred_at = models.DateTimeField(db_index=True)
    actor_name = models.CharField(max_length=150, blank=True)
    payload = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("patient event")
        verbose_name_plural = _("patient events")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            # A handler may see an event twice; the timeline shows it once.
            models.UniqueConstraint(
                fields=["patient", "source_event_id"], name="patient_event_once"
            ),
        ]
        indexes = [models.Index(fields=["patient", "-occurred_at"], name="patient_timeline_idx")]

    def __str__(self) -> str:
        return f"{self.name} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class ImportStatus(models.TextChoices):
    VALIDATING = "validating", _("Checking the file")
    PREVIEW = "preview", _("Ready for review")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


IMPORT_FOLDER = "imports/patients"


class PatientImport(models.Model):
    """An upload of patients from another system: checked first, imported after confirmation.

    Both passes go chunk by chunk; ``processed_rows`` is the count of the file's rows whose
    chunk has committed (with the job's counts and ``progress_at``, in the chunk's
    transaction), so a pass that stopped resumes there. The file is deleted once the job is
    done, failed or cancelled, and after ``PATIENT_IMPORT_KEEP_FILES_DAYS`` in any case.
    """

    file = models.FileField(upload_to=RandomName(IMPORT_FOLDER), blank=True)
    original_name = models.CharField(max_length=255)
    status = models.CharField(
        max_length=12, choices=ImportStatus.choices, default=ImportStatus.VALIDATING
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    new_count = models.PositiveIntegerField(default=0)
    update_count = models.PositiveIntegerField(default=0)
    invalid_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    preview = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("patient import")
        verbose_name_plural = _("patient imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def progress_percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0

    @property
    def is_running(self) -> bool:
        return self.status in (ImportStatus.VALIDATING, ImportStatus.IMPORTING)

    @property
    def is_stuck(self) -> bool:
        """Running, but no chunk has committed for ``PATIENT_IMPORT_STUCK_MINUTES``: the
        worker probably died (a restart, a kill); the page offers to resume or give up."""
        last = self.progress_at or self.created_at
        limit = datetime.timedelta(minutes=settings.PATIENT_IMPORT_STUCK_MINUTES)
        return self.is_running and last is not None and timezone.now() - last > limit

    @property
    def actor(self):
        """Who the import pass writes as: the user who confirmed it."""
        return self.confirmed_by or self.created_by
