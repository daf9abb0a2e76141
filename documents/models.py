"""Document templates with their versions, and the copies printed from them.

A template's text lives in ``TemplateVersion`` rows that are never changed: editing the text
adds a version, and a printed copy names the version it was printed from. A printed copy
(``PrintedDocument``) keeps its PDF and what it was printed from for good; only its status
(printed, signed, refused) moves, with a history, and signed scans are added to it.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.files import RandomName
from clinic.models import Branch, ReferenceItem
from clinic.softdelete import SoftDeleteModel
from patients.models import Patient


class ImmutableRecord(Exception):
    """Raised when code tries to change or delete what must stay as it was written."""


class WrittenOnce(models.Model):
    """Rows that are inserted and never changed or deleted (``ImmutableRecord``)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableRecord(f"A {self._meta.verbose_name} is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecord(f"A {self._meta.verbose_name} is never deleted.")


class DocumentTypeCode(models.TextChoices):
    """The codes of the shipped document types (a clinic's own types have none)."""

    CONTRACT = "contract", _("Contract")
    INFORMED_CONSENT = "informed_consent", _("Informed voluntary consent")
    PD_CONSENT = "pd_consent", _("Consent to personal data processing")
    ACT = "act", _("Act")
    CERTIFICATE = "certificate", _("Certificate")
    OTHER = "other", _("Other")


class DocumentType(ReferenceItem):
    code = models.CharField(
        _("code"), max_length=30, choices=DocumentTypeCode.choices, blank=True, editable=False
    )

    class Meta(ReferenceItem.Meta):
        verbose_name = _("document type")
        verbose_name_plural = _("document types")
        constraints = [
            *ReferenceItem.Meta.constraints,
            models.UniqueConstraint(
                fields=["code"], condition=~Q(code=""), name="document_type_code_unique"
            ),
        ]


class PageSize(models.TextChoices):
    A4 = "A4", "A4"
    A5 = "A5", "A5"


class Pack(models.TextChoices):
    """Sets of templates printed together into one PDF."""

    FIRST_VISIT = "first_visit", _("First-visit pack")


class Template(SoftDeleteModel):
    # The shipped default this template was loaded from (documents/defaults/index.json).
    key = models.CharField(max_length=60, blank=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    document_type = models.ForeignKey(
        DocumentType, on_delete=models.PROTECT, related_name="templates", verbose_name=_("type")
    )
    page_size = models.CharField(
        _("page size"), max_length=2, choices=PageSize.choices, default=PageSize.A4
    )
    packs = models.JSONField(_("packs"), default=list, blank=True)
    current_version = models.ForeignKey(
        "TemplateVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta(SoftDeleteModel.Meta):
        verbose_name = _("document template")
        verbose_name_plural = _("document templates")
        ordering = ["name", "id"]
        constraints = [
            # Deleted ones too: a default the clinic deleted is not loaded again.
            models.UniqueConstraint(
                fields=["key"], condition=~Q(key=""), name="document_template_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("documents:template-edit", args=[self.pk])

    @property
    def body(self) -> str:
        return self.current_version.body if self.current_version else ""

    def in_pack(self, pack: str) -> bool:
        return pack in (self.packs or [])


class VersionOrigin(models.TextChoices):
    DEFAULT = "default", _("Shipped text")
    USER = "user", _("Edited")


class TemplateVersion(WrittenOnce):
    """One text of a template, as it was saved; never changed afterwards."""

    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    name = models.CharField(_("name"), max_length=200)
    page_size = models.CharField(_("page size"), max_length=2, choices=PageSize.choices)
    body = models.TextField(_("text"))
    origin = models.CharField(max_length=10, choices=VersionOrigin.choices)
    created_at = models.DateTimeField(_("saved"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("saved by"),
    )

    class Meta:
        verbose_name = _("template version")
        verbose_name_plural = _("template versions")
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"


class PrintedStatus(models.TextChoices):
    PRINTED = "printed", _("Printed")
    SIGNED = "signed", _("Signed")
    REFUSED = "refused", _("Refused")


class PrintedDocumentQuerySet(models.QuerySet):
    def update(self, **kwargs):
        fixed = set(kwargs) - PrintedDocument.MUTABLE_FIELDS
        if fixed:
            raise ImmutableRecord(f"A printed copy keeps its {', '.join(sorted(fixed))}.")
        return super().update(**kwargs)

    def delete(self):
        raise ImmutableRecord("Printed copies are never deleted.")

    def visible(self):
        """Copies of live cards: a card in the recycle bin takes its documents with it."""
        return self.filter(patient__deleted_at__isnull=True)


class PrintedDocument(models.Model):
    """A document as it was printed for a patient: the PDF and what it came from."""

    MUTABLE_FIELDS = frozenset({"status", "status_changed_at"})

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="printed_documents")
    template_version = models.ForeignKey(
        TemplateVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="printed",
        verbose_name=_("template version"),
    )
    # A built-in layout's key (the treatment plan, an invoice) when not printed from a template.
    layout = models.CharField(max_length=40, blank=True)
    title = models.CharField(_("document"), max_length=300)
    visit_id = models.BigIntegerField(_("visit"), null=True, blank=True)
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Printed together into one PDF (the first-visit pack), in ``position`` order.
    batch = models.UUIDField(default=uuid.uuid4, db_index=True)
    position = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to=RandomName("documents/printed"))
    sha256 = models.CharField(max_length=64)
    pages = models.PositiveSmallIntegerField(default=1)
    # Placeholders that had no value and printed as a line to fill by hand.
    missing = models.JSONField(default=list, blank=True)
    printed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("printed by"),
    )
    printed_at = models.DateTimeField(_("printed"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=PrintedStatus.choices, default=PrintedStatus.PRINTED
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)

    objects = PrintedDocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("printed document")
        verbose_name_plural = _("printed documents")
        ordering = ["-printed_at", "position", "-id"]
        indexes = [models.Index(fields=["patient", "-printed_at"], name="printed_patient_idx")]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            fields = kwargs.get("update_fields")
            if fields is None or not set(fields) <= self.MUTABLE_FIELDS:
                raise ImmutableRecord("A printed copy is never changed, only its status.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecord("Printed copies are never deleted.")


class PrintedStatusChange(WrittenOnce):
    document = models.ForeignKey(
        PrintedDocument, on_delete=models.PROTECT, related_name="status_changes"
    )
    from_status = models.CharField(max_length=10, choices=PrintedStatus.choices)
    to_status = models.CharField(max_length=10, choices=PrintedStatus.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("printed document status change")
        verbose_name_plural = _("printed document status changes")
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class SignedScan(WrittenOnce):
    """A scan or photo of the signed paper, attached to its printed copy (one per page, or
    one file for all)."""

    document = models.ForeignKey(PrintedDocument, on_delete=models.PROTECT, related_name="scans")
    file = models.FileField(upload_to=RandomName("documents/signed"))
    original_name = models.CharField(max_length=255)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("signed scan")
        verbose_name_plural = _("signed scans")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name
