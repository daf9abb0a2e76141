from django.db import models
from django.utils.translation import gettext_lazy as _


class NumberSequence(models.Model):
    """Gap-free counters for human-facing numbers (patient cards, later invoices)."""

    key = models.CharField(max_length=50, primary_key=True)
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")

    def __str__(self) -> str:
        return f"{self.key}={self.value}"
