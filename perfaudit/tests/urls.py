"""A test-only URLconf: views that make N+1-style and slow queries on purpose."""

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


urlpatterns = [
    path("repeated/", repeated),
    path("repeated-raw/", repeated_raw),
    path("sleepy/", sleepy),
]
