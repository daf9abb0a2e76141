"""The price list moves to its own app below the calendar: first its tables are renamed here,
then ``pricelist.0001`` takes the models over in the migration state (no data is copied).
It waits for every earlier migration that reads the old tables, so a fresh database runs
them before the rename."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("calendar_app", "0006_service_line_tooth"),
        ("clinical", "0007_plans"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable("servicecategory", "pricelist_servicecategory"),
                migrations.AlterModelTable("service", "pricelist_service"),
            ],
        ),
    ]
