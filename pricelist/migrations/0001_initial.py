"""The price list, taken over from billing (whose 0002 renamed the tables): the models enter
this app's state only; the content types follow so audit entries keep pointing at them."""

import django.db.models.deletion
import django.db.models.manager
from django.conf import settings
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in ("service", "servicecategory"):
        if not content_type.objects.filter(app_label="pricelist", model=model).exists():
            content_type.objects.filter(app_label="billing", model=model).update(
                app_label="pricelist"
            )


def move_content_types_back(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(
        app_label="pricelist", model__in=["service", "servicecategory"]
    ).update(app_label="billing")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("billing", "0002_price_list_tables_to_pricelist"),
        ("clinic", "0004_number_sequence"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ServiceCategory',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('deleted_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('name', models.CharField(max_length=150, verbose_name='name')),
                        ('position', models.PositiveIntegerField(default=0, verbose_name='position')),
                        ('deleted_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'service category',
                        'verbose_name_plural': 'service categories',
                        'ordering': ['position', 'name'],
                        'abstract': False,
                        'base_manager_name': 'all_objects',
                    },
                    managers=[
                        ('objects', django.db.models.manager.Manager()),
                        ('all_objects', django.db.models.manager.Manager()),
                    ],
                ),
                migrations.CreateModel(
                    name='Service',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('deleted_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('code', models.CharField(help_text='The 804н nomenclature code.', max_length=30, verbose_name='code')),
                        ('name', models.CharField(max_length=300, verbose_name='name')),
                        ('duration_minutes', models.PositiveSmallIntegerField(default=30, verbose_name='duration, minutes')),
                        ('price', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='price')),
                        ('per_tooth', models.BooleanField(default=False, verbose_name='priced per tooth')),
                        ('position', models.PositiveIntegerField(default=0, verbose_name='position')),
                        ('deleted_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('profession', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='services', to='clinic.profession', verbose_name='doctor profession')),
                        ('category', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='services', to='pricelist.servicecategory', verbose_name='category')),
                    ],
                    options={
                        'verbose_name': 'service',
                        'verbose_name_plural': 'services',
                        'ordering': ['category__position', 'position', 'name'],
                        'abstract': False,
                        'base_manager_name': 'all_objects',
                    },
                    managers=[
                        ('objects', django.db.models.manager.Manager()),
                        ('all_objects', django.db.models.manager.Manager()),
                    ],
                ),
                migrations.AddConstraint(
                    model_name='servicecategory',
                    constraint=models.UniqueConstraint(condition=models.Q(('deleted_at__isnull', True)), fields=('name',), name='service_category_unique_name'),
                ),
                migrations.AddConstraint(
                    model_name='service',
                    constraint=models.UniqueConstraint(condition=models.Q(('deleted_at__isnull', True)), fields=('code',), name='service_unique_code'),
                ),
                migrations.AddConstraint(
                    model_name='service',
                    constraint=models.CheckConstraint(condition=models.Q(('price__gte', 0)), name='service_price_not_negative'),
                ),
                migrations.AddConstraint(
                    model_name='service',
                    constraint=models.CheckConstraint(condition=models.Q(('duration_minutes__gt', 0)), name='service_duration_positive'),
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
