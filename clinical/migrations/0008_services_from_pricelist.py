"""Plans and plan templates take their services from ``pricelist`` now (state only: the
tables changed their app, not their columns)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clinical", "0007_plans"),
        ("pricelist", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name=model,
                    name="service",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="pricelist.service",
                        verbose_name="service",
                    ),
                )
                for model in ("planline", "plantemplateline")
            ],
        ),
    ]
