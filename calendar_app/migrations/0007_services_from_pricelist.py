"""Visits book services from ``pricelist`` now (the tables only changed their app: state only;
the database's foreign keys follow a renamed table by themselves)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calendar_app", "0006_service_line_tooth"),
        ("pricelist", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="appointmentservice",
                    name="service",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="pricelist.service",
                    ),
                ),
                migrations.AlterField(
                    model_name="appointment",
                    name="services",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="+",
                        through="calendar_app.AppointmentService",
                        to="pricelist.service",
                        verbose_name="services",
                    ),
                ),
            ],
        ),
    ]
