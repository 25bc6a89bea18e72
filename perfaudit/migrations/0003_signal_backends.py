from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("perfaudit", "0002_permissions"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="dashboard",
            options={
                "default_permissions": ("view",),
                "managed": False,
                "permissions": [
                    (
                        "explain_analyze",
                        "Can run EXPLAIN ANALYZE (executes the statement, rolled back)",
                    ),
                    ("reset_statistics", "Can reset the statement statistics (pg_stat_statements)"),
                    ("signal_backends", "Can cancel or terminate database sessions"),
                ],
                "verbose_name": "performance dashboard",
                "verbose_name_plural": "performance dashboard",
            },
        ),
    ]
