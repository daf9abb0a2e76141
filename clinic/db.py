"""Database pieces that only PostgreSQL has, made harmless on the SQLite quickstart.

The test suite and production run on PostgreSQL, where these constraints and indexes are
real. ``make run`` uses SQLite for a one-clinic demo; there the services' own checks (row
locks and overlap queries) still refuse conflicts, only the second line of defence is absent.
"""

from django.contrib.postgres.constraints import ExclusionConstraint
from django.db import migrations


def is_postgresql(schema_editor_or_connection) -> bool:
    """For a schema editor or a Django connection (both know their ``vendor`` one way)."""
    target = schema_editor_or_connection
    vendor = getattr(target, "vendor", None) or getattr(target.connection, "vendor", None)
    return vendor == "postgresql"


class PostgresExclusionConstraint(ExclusionConstraint):
    """An exclusion constraint that SQLite silently skips (it cannot express one)."""

    def constraint_sql(self, model, schema_editor):
        return (
            super().constraint_sql(model, schema_editor) if is_postgresql(schema_editor) else None
        )

    def create_sql(self, model, schema_editor):
        return super().create_sql(model, schema_editor) if is_postgresql(schema_editor) else None

    def remove_sql(self, model, schema_editor):
        return super().remove_sql(model, schema_editor) if is_postgresql(schema_editor) else None

    def validate(self, model, instance, exclude=None, using="default"):
        from django.db import connections

        if not is_postgresql(connections[using]):
            return
        super().validate(model, instance, exclude=exclude, using=using)


class RunSQLOnPostgres(migrations.RunSQL):
    """Raw SQL (trigram indexes, triggers, extensions) applied on PostgreSQL only."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if is_postgresql(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if is_postgresql(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def sqlite_unicode_lower(sender, connection, **kwargs) -> None:
    """SQLite's lower() folds ASCII only; the search columns need Cyrillic folded too."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "lower",
            1,
            lambda value: value.lower() if isinstance(value, str) else value,
            deterministic=True,
        )
