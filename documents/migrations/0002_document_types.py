from django.db import migrations

# The shipped types: their codes are what the default templates' index.json names.
TYPES = [
    ("contract", "Договор"),
    ("informed_consent", "Информированное добровольное согласие"),
    ("pd_consent", "Согласие на обработку персональных данных"),
    ("act", "Акт"),
    ("certificate", "Справка"),
    ("other", "Прочее"),
]


def create_types(apps, schema_editor):
    DocumentType = apps.get_model("documents", "DocumentType")
    for position, (code, name) in enumerate(TYPES, start=1):
        DocumentType.objects.get_or_create(
            code=code, defaults={"name": name, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_initial")]

    operations = [migrations.RunPython(create_types, migrations.RunPython.noop)]
