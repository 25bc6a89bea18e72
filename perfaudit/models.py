"""A placeholder model so the perfaudit pages get a section on the admin index.

Django's admin lists models, not views. An unmanaged model with no table gives perfaudit an
admin entry (and URLs through ``ModelAdmin.get_urls()``) on the project's own AdminSite, so a
project installing perfaudit needs no custom AdminSite. ``managed = False``: migrate never
creates a table. Its permissions are the dashboard's (superusers have them all; docs/perfaudit.md,
"Permissions"):

* ``perfaudit.view_dashboard``: every page, plain EXPLAIN and the Advisor form (active staff
  users only: the admin site lets nobody else in);
* ``perfaudit.explain_analyze``: ANALYZE on the EXPLAIN page, which executes the statement
  (rolled back), when ``PERFAUDIT['ADMIN_EXPLAIN_ANALYZE']`` allows it at all;
* ``perfaudit.reset_statistics``: resetting pg_stat_statements (everyone's statistics);
* ``perfaudit.signal_backends``: cancelling or terminating another database session from the
  Sessions page (confirmed and logged).
"""

from django.db import models


class Dashboard(models.Model):
    class Meta:
        managed = False
        db_table = "perfaudit_dashboard_no_table"
        default_permissions = ("view",)
        permissions = [
            ("explain_analyze", "Can run EXPLAIN ANALYZE (executes the statement, rolled back)"),
            ("reset_statistics", "Can reset the statement statistics (pg_stat_statements)"),
            ("signal_backends", "Can cancel or terminate database sessions"),
        ]
        verbose_name = "performance dashboard"
        verbose_name_plural = "performance dashboard"

    def __str__(self):
        return "performance dashboard"
