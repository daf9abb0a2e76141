from django.core.management.base import BaseCommand

from clinic.audit import anchor_head, anchor_path


class Command(BaseCommand):
    help = (
        "Record the audit chain's head (entry, hash, count, time, keyed) in the log and in "
        "AUDIT_ANCHOR_PATH, outside the database; celery beat runs it every few minutes."
    )

    def handle(self, *args, **options):
        anchor = anchor_head()
        if anchor is None:
            self.stdout.write("The audit log is empty: nothing to anchor.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Anchored entry {anchor.entry_id} ({anchor.count} entries) in {anchor_path()}."
            )
        )
