"""perfaudit's pages inside the project's own Django admin.

One placeholder model (perfaudit.models.Dashboard, no table) gives the section on the admin index;
its ModelAdmin swaps the usual add/change URLs for the dashboard pages. Every page goes through
``admin_site.admin_view``: logged-in active staff only (anyone else is sent to the admin login),
CSRF-protected, never cached; then staff without ``perfaudit.view_dashboard`` get a 403
(perfaudit.models lists the permissions).
"""

from functools import partial, update_wrapper

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import path

from perfaudit.admin_views import PAGES, SUBPAGES
from perfaudit.models import Dashboard

__all__ = ["PAGES", "DashboardAdmin"]


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    def _is_staff(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._is_staff(request) and request.user.has_perm("perfaudit.view_dashboard")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        # Replaces the model's changelist/add/change URLs: there are no rows, only reports.
        # The overview also answers to the changelist name, which the admin index links to.
        info = self.opts.app_label, self.opts.model_name
        urls = []
        for route, view, name, *_title in (*PAGES, *SUBPAGES):
            wrapped = self.admin_site.admin_view(update_wrapper(partial(self._guard, view), view))
            urls.append(path(route, wrapped, name=f"perfaudit_{name}"))
        urls.append(path("", urls[0].callback, name="{}_{}_changelist".format(*info)))
        return urls

    def _guard(self, view, request, *args, **kwargs):
        if not self.has_view_permission(request):
            raise PermissionDenied("perfaudit's pages need the perfaudit.view_dashboard permission")
        return view(self, request, *args, **kwargs)
