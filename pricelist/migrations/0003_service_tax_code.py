from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("pricelist", "0002_price_lists")]

    operations = [
        migrations.AddField(
            model_name="service",
            name="tax_code",
            field=models.PositiveSmallIntegerField(
                choices=[(1, "1: ordinary medical services"), (2, "2: expensive treatment")],
                default=1,
                verbose_name="tax certificate code",
            ),
        ),
    ]
