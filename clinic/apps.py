from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = _("Clinic")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from clinic import registrations  # noqa: F401
        from clinic.db import fast_timestamps, sqlite_unicode_functions

        connection_created.connect(
            sqlite_unicode_functions, dispatch_uid="sqlite_unicode_functions"
        )
        connection_created.connect(fast_timestamps, dispatch_uid="fast_timestamps")
        self.connect_rights_invalidation()

    @staticmethod
    def connect_rights_invalidation() -> None:
        """Cached rights (``clinic.auth.CachedRightsBackend``) go stale on any rights change."""
        from django.contrib.auth.models import Group
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from clinic.auth import forget_rights
        from clinic.models import User

        for through in (
            User.groups.through,
            User.user_permissions.through,
            Group.permissions.through,
        ):
            m2m_changed.connect(forget_rights, sender=through, dispatch_uid=f"rights-{through}")
        for model in (User, Group):
            post_save.connect(forget_rights, sender=model, dispatch_uid=f"rights-save-{model}")
            post_delete.connect(forget_rights, sender=model, dispatch_uid=f"rights-del-{model}")
