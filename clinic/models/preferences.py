from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PreferenceValue(models.Model):
    """A stored value of a module setting declared in ``clinic.preferences``."""

    key = models.CharField(max_length=100, unique=True)
    value = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("module setting")
        verbose_name_plural = _("module settings")

    def __str__(self) -> str:
        return self.key
