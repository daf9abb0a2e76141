"""The price list's models leave billing's migration state once every foreign key points at
``pricelist`` (their tables were renamed in 0002 and belong to ``pricelist`` now)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_price_list_tables_to_pricelist"),
        ("calendar_app", "0007_services_from_pricelist"),
        ("clinical", "0008_services_from_pricelist"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel("Service"),
                migrations.DeleteModel("ServiceCategory"),
            ],
        ),
    ]
