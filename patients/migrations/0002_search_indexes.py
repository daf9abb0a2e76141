from django.db import migrations

from clinic.db import RunSQLOnPostgres

# Trigram indexes make "any part of the name" and "any digits of the phone" searches use an
# index on PostgreSQL; the pattern-ops index serves short prefixes ("Ив"). Live cards only.
FORWARD = """
CREATE INDEX IF NOT EXISTS patient_search_name_trgm ON patients_patient
    USING gin (search_name gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS patient_search_phones_trgm ON patients_patient
    USING gin (search_phones gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS patient_search_name_prefix ON patients_patient
    (search_name varchar_pattern_ops) WHERE deleted_at IS NULL;
"""
BACKWARD = """
DROP INDEX IF EXISTS patient_search_name_trgm;
DROP INDEX IF EXISTS patient_search_phones_trgm;
DROP INDEX IF EXISTS patient_search_name_prefix;
"""


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial"), ("clinic", "0002_postgres_extras")]

    operations = [RunSQLOnPostgres(FORWARD, BACKWARD)]
