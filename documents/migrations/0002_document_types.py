from django.db import migrations


def create_types(apps, schema_editor):
    from documents.default_templates import ensure_document_types

    ensure_document_types(apps)


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_initial")]

    operations = [migrations.RunPython(create_types, migrations.RunPython.noop)]
