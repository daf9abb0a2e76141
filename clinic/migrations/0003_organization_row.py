from django.db import migrations


def create_organization(apps, schema_editor):
    Organization = apps.get_model("clinic", "Organization")
    Organization.objects.get_or_create(pk=1, defaults={"name": "Odonta"})


class Migration(migrations.Migration):
    dependencies = [("clinic", "0002_postgres_extras")]

    operations = [migrations.RunPython(create_organization, migrations.RunPython.noop)]
