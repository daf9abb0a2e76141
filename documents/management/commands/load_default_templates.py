from django.core.management.base import BaseCommand

from documents.default_templates import ensure_default_templates


class Command(BaseCommand):
    help = (
        "Load the shipped document templates (documents/defaults/): new ones are added, newer "
        "texts reach the templates nobody edited; the clinic's edits and deletions stay."
    )

    def handle(self, *args, **options) -> None:
        counts = ensure_default_templates()
        self.stdout.write(
            "Default templates: {created} created, {updated} updated, {kept} kept.".format(**counts)
        )
