import time

from django.core.management.base import BaseCommand

from integrations.amocrm.fake import FakeAmo
from integrations.amocrm.fake_demo import seed_demo


class Command(BaseCommand):
    help = (
        "Serve a fake amoCRM account (demo contacts and deals, OAuth, API v4, webhooks "
        "delivered on their own) until Ctrl-C, to connect Odonta to without a real account."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--rps", type=int, default=7, help="requests a second (0: no limit)")
        parser.add_argument("--empty", action="store_true", help="no demo contacts and deals")

    def handle(self, *args, **options):
        fake = FakeAmo(
            rps=options["rps"] or None,
            auto_deliver=True,
            port=options["port"],
            host=options["host"],
        )
        fake.journal_limit = 10_000
        fake.redirect_uri = None
        if not options["empty"]:
            seed_demo(fake)
        fake.start()
        out = self.stdout.write
        out(self.style.SUCCESS(f"Fake amoCRM account #{fake.account_id} at {fake.url}"))
        out(f"  long-lived token: {fake.long_lived_token}")
        out(f"  OAuth: client id {fake.client_id}, client secret {fake.client_secret}")
        consent = f"{fake.url}/oauth?client_id={fake.client_id}&redirect_uri=<yours>"
        out(f"         consent page {consent}")
        rate = fake.rps or "none"
        out(f"  {len(fake.contacts)} contacts, {len(fake.leads)} deals; rate limit: {rate}")
        out(
            "Connect: Settings -> Integrations -> amoCRM, account address "
            f"{fake.url}, and the long-lived token above (or OAuth with the client id/secret)."
        )
        out("Webhooks the sync registers are delivered within ~0.2 s. Ctrl-C stops.")
        self.stdout.flush()  # seen at once when the output goes to a file or a pipe
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            fake.stop()
            out("Stopped.")
