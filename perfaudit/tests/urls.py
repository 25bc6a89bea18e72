"""A test-only URLconf: views that make N+1-style and slow queries on purpose, and the admin
(the root URLconf of perfaudit/tests/settings.py, the suite's standalone project)."""

from django.contrib import admin
from django.db import connection
from django.http import JsonResponse
from django.urls import path


def repeated(request):
    # Six identical parameterized queries: what an N+1 loop looks like to the database.
    with connection.cursor() as cursor:
        for n in range(6):
            cursor.execute("SELECT %s::int", [n])
    return JsonResponse({"ok": True})


def repeated_raw(request):
    # Raw SQL with inlined literals: the ORM hooks never see these, the fingerprint does.
    with connection.cursor() as cursor:
        for n in range(6):
            cursor.execute(f"SELECT {n} + 1")
    return JsonResponse({"ok": True})


def sleepy(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.01)")
    return JsonResponse({"ok": True})


def health(request):
    # Stands in for the demo project's /health/ (explain --url's tests fetch it): one SELECT 1.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("repeated/", repeated),
    path("repeated-raw/", repeated_raw),
    path("sleepy/", sleepy),
    path("health/", health),
]
