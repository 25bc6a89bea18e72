from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from taskproject import views

# JSON error pages under /api/ (HTTP errors are {"detail": ...} there), Django's elsewhere.
handler404 = "taskproject.views.not_found"
handler500 = "taskproject.views.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", views.health, name="health"),
    path("health/live/", views.live, name="health-live"),
    path("api/", include("tasks.urls")),
    path("", RedirectView.as_view(pattern_name="api-docs", permanent=False), name="home"),
]

if settings.BENCHMARK_BASELINES:
    # The seed's naive "before" endpoints, for `make bench` only (never in a deployment).
    urlpatterns += [path("bench/baseline/", include("benchmarks.baselines.urls"))]

if settings.SILK_ENABLED:
    urlpatterns += [path("silk/", include("silk.urls", namespace="silk"))]

if settings.DEBUG_TOOLBAR:
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
