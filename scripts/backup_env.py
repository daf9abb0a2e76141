"""Print, as shell assignments, where the application keeps its data (for scripts/backup
and scripts/restore): the database as libpq variables, MEDIA_ROOT and the audit anchor.

The values come from config/settings.py, so the scripts follow the application's own
defaults and environment. The password travels in PGPASSWORD, never on a command line.
"""

import os
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings


def main() -> None:
    database = settings.DATABASES["default"]
    if "postgresql" not in database["ENGINE"]:
        sys.exit("Backups need PostgreSQL: set DATABASE_URL to postgres://user:password@host/db")
    # The audit chain's anchor file, when the installation keeps one.
    anchor = getattr(settings, "AUDIT_ANCHOR_PATH", None) or os.environ.get(
        "ODONTA_AUDIT_ANCHOR_PATH"
    )
    values = {
        "PGHOST": database.get("HOST") or "",
        "PGPORT": str(database.get("PORT") or ""),
        "PGUSER": database.get("USER") or "",
        "PGPASSWORD": database.get("PASSWORD") or "",
        "PGDATABASE": database["NAME"],
        "PGSSLMODE": (database.get("OPTIONS") or {}).get("sslmode", ""),
        "ODONTA_MEDIA_ROOT": str(Path(settings.MEDIA_ROOT).resolve()),
        "ODONTA_ANCHOR": str(anchor or ""),
    }
    for name, value in values.items():
        if value or not name.startswith("PG"):
            print(f"export {name}={shlex.quote(value)}")  # noqa: T201


if __name__ == "__main__":
    main()
