from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from taskproject import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", views.health, name="health"),
    path("api/", include("tasks.urls")),
    path("", RedirectView.as_view(pattern_name="api-docs", permanent=False), name="home"),
]
