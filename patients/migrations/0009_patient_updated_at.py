import django.utils.timezone
from django.db import migrations, models


def from_created_at(apps, schema_editor):
    """Existing cards: last changed when they were created (every card has ``created_at``)."""
    Patient = apps.get_model("patients", "Patient")
    Patient._base_manager.update(updated_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0008_legalrepresentative"),
    ]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="updated_at",
            field=models.DateTimeField(
                auto_now=True,
                db_index=True,
                default=django.utils.timezone.now,
                verbose_name="changed",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(from_created_at, migrations.RunPython.noop, elidable=True),
    ]
