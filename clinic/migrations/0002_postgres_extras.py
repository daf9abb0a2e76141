from django.db import migrations

from clinic.db import RunSQLOnPostgres

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION clinic_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The audit log is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER clinic_audit_append_only
    BEFORE UPDATE OR DELETE ON clinic_auditentry
    FOR EACH ROW EXECUTE FUNCTION clinic_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("clinic", "0001_initial")]

    operations = [
        # Trigram search (patients) and exclusion constraints on ranges (calendar).
        RunSQLOnPostgres("CREATE EXTENSION IF NOT EXISTS pg_trgm", migrations.RunSQL.noop),
        RunSQLOnPostgres("CREATE EXTENSION IF NOT EXISTS btree_gist", migrations.RunSQL.noop),
        RunSQLOnPostgres(
            APPEND_ONLY,
            "DROP TRIGGER IF EXISTS clinic_audit_append_only ON clinic_auditentry;"
            "DROP FUNCTION IF EXISTS clinic_audit_append_only();",
        ),
    ]
