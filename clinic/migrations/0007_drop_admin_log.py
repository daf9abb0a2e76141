from django.db import migrations

# Django's admin site was removed (docs/architecture.md, "No Django admin"). Its log table
# kept a foreign key to users, which breaks flushing a database and deleting a user; the
# migration records go too, so that re-adding the admin one day starts from scratch.


class Migration(migrations.Migration):

    dependencies = [
        ('clinic', '0006_verbose_names'),
    ]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS django_admin_log", migrations.RunSQL.noop),
        migrations.RunSQL("DELETE FROM django_migrations WHERE app = 'admin'", migrations.RunSQL.noop),
    ]
