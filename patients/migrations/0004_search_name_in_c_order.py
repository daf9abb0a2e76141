from django.db import migrations

from clinic.db import RunSQLOnPostgres

# The prefix index becomes a byte-order ("C") btree of (search_name, id): it still serves
# short prefixes ("Ив"), and it also hands the quick search its first ten names in order,
# so a common name ("Иван" among 500,000 cards) is not sorted in full for ten lines.
FORWARD = """
DROP INDEX IF EXISTS patient_search_name_prefix;
CREATE INDEX IF NOT EXISTS patient_search_name_prefix ON patients_patient
    (search_name COLLATE "C", id) WHERE deleted_at IS NULL;
"""
BACKWARD = """
DROP INDEX IF EXISTS patient_search_name_prefix;
CREATE INDEX IF NOT EXISTS patient_search_name_prefix ON patients_patient
    (search_name varchar_pattern_ops) WHERE deleted_at IS NULL;
"""


class Migration(migrations.Migration):
    dependencies = [("patients", "0003_verbose_names")]

    operations = [RunSQLOnPostgres(FORWARD, BACKWARD)]
