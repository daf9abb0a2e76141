from django.db import migrations

DEFAULTS = [
    ("planned", "Запланирован", "#5b8def"),
    ("confirmed", "Подтверждён", "#2f9e6e"),
    ("arrived", "Пришёл, ожидает", "#f0a020"),
    ("in_chair", "В кресле", "#d9480f"),
    ("completed", "Завершён", "#868e96"),
    ("no_show", "Не пришёл", "#c92a2a"),
    ("cancelled", "Отменён", "#adb5bd"),
]


def create_statuses(apps, schema_editor):
    AppointmentStatus = apps.get_model("calendar_app", "AppointmentStatus")
    for position, (code, name, color) in enumerate(DEFAULTS, start=1):
        AppointmentStatus.objects.get_or_create(
            code=code, defaults={"name": name, "color": color, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("calendar_app", "0001_initial")]

    operations = [migrations.RunPython(create_statuses, migrations.RunPython.noop)]
