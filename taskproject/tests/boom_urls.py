"""The project's URLs plus /api/boom/, a view that fails (ApiJsonErrorsMiddleware tests)."""

from django.urls import path

from taskproject.urls import urlpatterns as project_urlpatterns


def boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("api/boom/", boom), path("boom/", boom), *project_urlpatterns]
handler404 = "taskproject.views.not_found"
handler500 = "taskproject.views.server_error"
