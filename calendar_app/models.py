import datetime
import uuid

from django.conf import settings
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Func, Q
from django.utils.translation import gettext_lazy as _

from clinic.db import PostgresExclusionConstraint
from clinic.models import (
    Branch,
    BranchScopedQuerySet,
    Chair,
    Employee,
    Profession,
    ReferenceItem,
)
from clinic.models.staff import color_validator
from clinic.softdelete import AliveManager, SoftDeleteModel
from patients.models import Patient
from pricelist.models import Service


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class StatusCode(models.TextChoices):
    PLANNED = "planned", _("Planned")
    CONFIRMED = "confirmed", _("Confirmed")
    ARRIVED = "arrived", _("Arrived, waiting")
    IN_CHAIR = "in_chair", _("In the chair")
    COMPLETED = "completed", _("Completed")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED = "cancelled", _("Cancelled")


DEFAULT_STATUS_COLORS = {
    StatusCode.PLANNED: "#5b8def",
    StatusCode.CONFIRMED: "#2f9e6e",
    StatusCode.ARRIVED: "#f0a020",
    StatusCode.IN_CHAIR: "#d9480f",
    StatusCode.COMPLETED: "#868e96",
    StatusCode.NO_SHOW: "#c92a2a",
    StatusCode.CANCELLED: "#adb5bd",
}
# Statuses that hold the chair and the doctor; a cancelled visit frees its time.
OCCUPYING = ~Q(status=StatusCode.CANCELLED) & Q(deleted_at__isnull=True)
# No visit or shift is longer (the services refuse it; a check constraint backs them). So
# whatever overlaps a window starts at most this long before it, and an overlap query reads
# a bounded stretch of the (…, start) indexes instead of all the years before the window.
LONGEST = datetime.timedelta(hours=12)
# The length of a visit a person may ask for, in minutes (booking, waiting list, the API).
# Of one service in one visit (the lines of a plan booked together, at most).
QUANTITY_MAX = 99
VISIT_MINUTES = (5, int(LONGEST.total_seconds()) // 60)


class AppointmentStatus(ReferenceItem):
    """Names and colours of the visit statuses (a reference book; the codes are fixed)."""

    code = models.CharField(_("code"), max_length=12, choices=StatusCode.choices, unique=True)
    color = models.CharField(
        _("colour"), max_length=7, default="#5b8def", validators=[color_validator]
    )

    class Meta(ReferenceItem.Meta):
        verbose_name = _("visit status")
        verbose_name_plural = _("visit statuses")


class VisitType(models.TextChoices):
    """What a visit is (the first one, or a follow-up): not the patient's status (primary
    through the first course of treatment, returning after a long pause), which the card
    shows; a primary patient's second visit is a follow-up."""

    PRIMARY = "primary", _("First visit")
    RETURNING = "returning", _("Follow-up visit")


class WorkShiftQuerySet(BranchScopedQuerySet):
    def overlapping(self, start: datetime.datetime, end: datetime.datetime):
        return self.filter(start__lt=end, end__gt=start, start__gt=start - LONGEST)


WorkShiftManager = AliveManager.from_queryset(WorkShiftQuerySet)
WorkShiftAllManager = models.Manager.from_queryset(WorkShiftQuerySet)


class WorkShift(SoftDeleteModel):
    """A doctor's working hours on a chair."""

    doctor = models.ForeignKey(
        Employee, on_delete=models.PROTECT, related_name="shifts", verbose_name=_("doctor")
    )
    chair = models.ForeignKey(
        Chair, on_delete=models.PROTECT, related_name="shifts", verbose_name=_("chair")
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="shifts", editable=False
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    series = models.UUIDField(
        null=True, blank=True, editable=False, help_text="Shifts created together from one pattern."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkShiftManager()  # type: ignore[assignment,misc]
    all_objects = WorkShiftAllManager()  # type: ignore[assignment,misc]

    class Meta(SoftDeleteModel.Meta):
        verbose_name = _("work shift")
        verbose_name_plural = _("work shifts")
        ordering = ["start"]
        indexes = [
            models.Index(fields=["branch", "start"], name="shift_branch_start_idx"),
            models.Index(fields=["doctor", "start"], name="shift_doctor_start_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="shift_ends_after_start"),
            models.CheckConstraint(
                condition=Q(end__lte=F("start") + LONGEST), name="shift_at_most_12_hours"
            ),
            PostgresExclusionConstraint(
                name="shift_no_doctor_overlap",
                expressions=[
                    (TsTzRange("start", "end", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("doctor", RangeOperators.EQUAL),
                ],
                condition=Q(deleted_at__isnull=True),
                violation_error_message=_("The doctor already has a shift at this time."),
            ),
            PostgresExclusionConstraint(
                name="shift_no_chair_overlap",
                expressions=[
                    (TsTzRange("start", "end", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("chair", RangeOperators.EQUAL),
                ],
                condition=Q(deleted_at__isnull=True),
                violation_error_message=_("Another doctor works on this chair at this time."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doctor} · {self.chair} · {self.start:%Y-%m-%d %H:%M}"

    def covers(self, start: datetime.datetime, end: datetime.datetime) -> bool:
        return self.start <= start and end <= self.end


class AppointmentQuerySet(BranchScopedQuerySet):
    def occupying(self):
        return self.filter(OCCUPYING)

    def overlapping(
        self,
        start: datetime.datetime,
        end: datetime.datetime,
        *,
        earliest: datetime.datetime | None = None,
    ):
        """Visits that overlap [start, end). None is longer than LONGEST, so only those
        starting after ``start - LONGEST`` (``earliest``, given by a caller that compiles
        the query once) are looked at, which keeps the index range short."""
        earliest = start - LONGEST if earliest is None else earliest
        return self.filter(start__lt=end, end__gt=start, start__gt=earliest)

    def in_branch(self, branch):
        return self.filter(branch=branch)


AppointmentManager = AliveManager.from_queryset(AppointmentQuerySet)
AppointmentAllManager = models.Manager.from_queryset(AppointmentQuerySet)


class Appointment(SoftDeleteModel):
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("patient")
    )
    doctor = models.ForeignKey(
        Employee, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("doctor")
    )
    chair = models.ForeignKey(
        Chair, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("chair")
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="appointments", editable=False
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    status = models.CharField(
        _("status"), max_length=12, choices=StatusCode.choices, default=StatusCode.PLANNED
    )
    visit_type = models.CharField(
        _("visit"), max_length=10, choices=VisitType.choices, default=VisitType.PRIMARY
    )
    note = models.TextField(_("note"), blank=True)
    services = models.ManyToManyField(
        Service,
        through="AppointmentService",
        blank=True,
        related_name="+",
        verbose_name=_("services"),
    )
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    source = models.CharField(max_length=20, default="calendar", editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AppointmentManager()  # type: ignore[assignment,misc]
    all_objects = AppointmentAllManager()  # type: ignore[assignment,misc]

    class Meta(SoftDeleteModel.Meta):
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["start"]
        indexes = [
            models.Index(fields=["branch", "start"], name="appointment_branch_start_idx"),
            models.Index(fields=["doctor", "start"], name="appointment_doctor_start_idx"),
            models.Index(fields=["chair", "start"], name="appointment_chair_start_idx"),
            models.Index(fields=["patient", "start"], name="appointment_patient_start_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="appointment_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(end__lte=F("start") + LONGEST), name="appointment_at_most_12_hours"
            ),
            PostgresExclusionConstraint(
                name="appointment_no_chair_overlap",
                expressions=[
                    (TsTzRange("start", "end", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("chair", RangeOperators.EQUAL),
                ],
                condition=OCCUPYING,
                violation_error_message=_("The chair is taken at this time."),
            ),
            PostgresExclusionConstraint(
                name="appointment_no_doctor_overlap",
                expressions=[
                    (TsTzRange("start", "end", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("doctor", RangeOperators.EQUAL),
                ],
                condition=OCCUPYING,
                violation_error_message=_("The doctor has another patient at this time."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} · {self.start:%Y-%m-%d %H:%M}"

    @property
    def duration(self) -> datetime.timedelta:
        return self.end - self.start

    @property
    def occupies_time(self) -> bool:
        return self.status != StatusCode.CANCELLED and self.deleted_at is None

    def overlaps(self, other: "Appointment") -> bool:
        return self.start < other.end and other.start < self.end


class AppointmentService(models.Model):
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="service_lines"
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    # FDI number, for a service done on a tooth (a filling on 36 and one on 46 are two lines).
    tooth = models.PositiveSmallIntegerField(_("tooth"), null=True, blank=True)
    quantity = models.PositiveSmallIntegerField(
        _("quantity"), default=1, validators=[MinValueValidator(1), MaxValueValidator(QUANTITY_MAX)]
    )
    # The price when booked; the invoice takes its own snapshot when it is issued.
    price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("service of a visit")
        verbose_name_plural = _("services of visits")
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "service", "tooth"], name="appointment_service_tooth_once"
            ),
            models.UniqueConstraint(
                fields=["appointment", "service"],
                condition=models.Q(tooth__isnull=True),
                name="appointment_service_once",
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="appointment_service_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def service_text(self) -> str:
        """The service's name and its tooth: "Filling · 36"."""
        return f"{self.service.name} · {self.tooth}" if self.tooth else self.service.name

    @property
    def label(self) -> str:
        """With a quantity above one: "Filling · 36 × 2"."""
        quantity = f" × {self.quantity}" if self.quantity != 1 else ""
        return f"{self.service_text}{quantity}"


class AppointmentStatusChange(models.Model):
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    reason = models.CharField(max_length=300, blank=True)
    changed_at = models.DateTimeField(auto_now_add=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("visit status change")
        verbose_name_plural = _("visit status changes")
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    BOOKED = "booked", _("Booked")


WaitingListManager = AliveManager.from_queryset(BranchScopedQuerySet)
WaitingListAllManager = models.Manager.from_queryset(BranchScopedQuerySet)


class WaitingListEntry(SoftDeleteModel):
    """A patient who wants a visit but has no date yet."""

    patient = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,
        related_name="waitlist_entries",
        verbose_name=_("patient"),
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="waitlist_entries", verbose_name=_("branch")
    )
    doctor = models.ForeignKey(
        Employee,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("doctor"),
    )
    profession = models.ForeignKey(
        Profession,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("profession"),
    )
    duration_minutes = models.PositiveSmallIntegerField(_("duration, minutes"), default=30)
    preferred_weekdays = models.JSONField(_("preferred days"), default=list, blank=True)
    preferred_time_from = models.TimeField(_("from"), null=True, blank=True)
    preferred_time_to = models.TimeField(_("to"), null=True, blank=True)
    comment = models.CharField(_("comment"), max_length=300, blank=True)
    status = models.CharField(
        max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    appointment = models.ForeignKey(
        Appointment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WaitingListManager()  # type: ignore[assignment,misc]
    all_objects = WaitingListAllManager()  # type: ignore[assignment,misc]

    class Meta(SoftDeleteModel.Meta):
        verbose_name = _("waiting list entry")
        verbose_name_plural = _("waiting list")
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0), name="waitlist_duration_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} ({self.duration_minutes} min)"


def new_series() -> uuid.UUID:
    return uuid.uuid4()
