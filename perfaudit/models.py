"""A placeholder model so the perfaudit pages get a section on the admin index.

Django's admin lists models, not views. An unmanaged model with no table gives perfaudit an
admin entry (and URLs through ``ModelAdmin.get_urls()``) on the project's own AdminSite, so a
project installing perfaudit needs no custom AdminSite. ``managed = False``: migrate never
creates a table; no default permissions: access is "is staff", checked by the admin site.
"""

from django.db import models


class Dashboard(models.Model):
    class Meta:
        managed = False
        db_table = "perfaudit_dashboard_no_table"
        default_permissions = ()
        verbose_name = "performance dashboard"
        verbose_name_plural = "performance dashboard"

    def __str__(self):
        return "performance dashboard"
