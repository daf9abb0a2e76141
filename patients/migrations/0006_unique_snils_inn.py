from django.db import migrations, models


class Migration(migrations.Migration):
    """One person, one card: a live card's SNILS and INN are unique. A database that already
    has two live cards with one number stops here (PostgreSQL names the number): correct or
    merge those cards, then migrate again."""

    dependencies = [
        ("patients", "0005_private_import_files"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="patient",
            constraint=models.UniqueConstraint(
                condition=models.Q(models.Q(("snils", ""), _negated=True), ("deleted_at__isnull", True)),
                fields=("snils",),
                name="patient_snils_unique",
                violation_error_message="Another card already has this SNILS.",
            ),
        ),
        migrations.AddConstraint(
            model_name="patient",
            constraint=models.UniqueConstraint(
                condition=models.Q(models.Q(("inn", ""), _negated=True), ("deleted_at__isnull", True)),
                fields=("inn",),
                name="patient_inn_unique",
                violation_error_message="Another card already has this INN.",
            ),
        ),
    ]
