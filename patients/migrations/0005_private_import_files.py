import clinic.files
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0004_search_name_in_c_order"),
    ]

    operations = [
        migrations.AlterField(
            model_name="patientimport",
            name="file",
            field=models.FileField(
                blank=True, upload_to=clinic.files.RandomName("imports/patients")
            ),
        ),
    ]
