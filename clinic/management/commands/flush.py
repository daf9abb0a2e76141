from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import flush

from clinic.audit import truncation_allowed


class Command(flush.Command):
    """Django's flush, which PostgreSQL would refuse because it empties the audit log.

    The test suite flushes the database after every transactional test; outside production
    the TRUNCATE guard is lifted for the flush's transaction only. In production flush is
    refused: the audit log is append-only.
    """

    def handle(self, **options):
        if settings.PRODUCTION:
            raise CommandError(
                "flush would empty the append-only audit log: refused in production."
            )
        with truncation_allowed(options["database"]):
            super().handle(**options)
