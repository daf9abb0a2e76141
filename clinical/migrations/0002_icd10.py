from django.db import migrations


def load(apps, schema_editor):
    from clinical.icd10 import load_icd10

    load_icd10(apps.get_model("clinical", "DiagnosisCategory"), apps.get_model("clinical", "Diagnosis"))


class Migration(migrations.Migration):
    dependencies = [("clinical", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
