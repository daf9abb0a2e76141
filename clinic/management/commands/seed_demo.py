from django.core.management.base import BaseCommand

from clinic import demo
from clinic.models import Employee


class Command(BaseCommand):
    help = "Load the demo clinic (idempotent: an already seeded database is left as it is)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run the seeders even if seeded.")

    def handle(self, *args, force: bool = False, **options):
        if Employee.all_objects.exists() and not force:
            self.stdout.write("The database already has data; demo seeding skipped.")
        else:
            demo.seed_all(log=lambda line: self.stdout.write(f"  {line}"))
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write("Demo logins (password = login):")
        for username, role in demo.DEMO_LOGINS:
            self.stdout.write(f"  {username:<12} {role}")
