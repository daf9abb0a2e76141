from django.db import migrations


def load_defaults(apps, schema_editor):
    from documents.default_templates import ensure_default_templates

    ensure_default_templates(apps)


class Migration(migrations.Migration):
    dependencies = [("documents", "0002_document_types")]

    operations = [migrations.RunPython(load_defaults, migrations.RunPython.noop)]
