from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views import defaults
from django.views.decorators.http import require_safe

from taskproject import rediscache


@require_safe  # GET and HEAD (load balancers often probe with HEAD)
def health(request):
    """Readiness: 200 when the database answers a trivial query, 503 otherwise. Redis, when
    configured, is reported but never makes it fail: the app serves every request without it
    (taskproject.rediscache), so a Redis outage must not take instances out of a balancer.
    ``"status": "degraded"`` (still 200) says Redis is down or just back (docs/operations.md)."""
    redis = rediscache.status()
    extra = {} if redis is None else {"redis": redis}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return JsonResponse(
            {
                "status": "unavailable",
                "database": "down",
                **extra,
                "detail": exc.__class__.__name__,
            },
            status=503,
        )
    status = "ok" if redis in (None, rediscache.UP) else "degraded"
    return JsonResponse({"status": status, "database": "up", **extra})


@require_safe
def live(request):
    """Liveness: the process answers HTTP. No dependency is asked (a database or Redis outage
    must not get every instance restarted): Kubernetes' livenessProbe."""
    return JsonResponse({"status": "ok"})


def not_found(request, exception):
    """handler404: API clients get DRF-style JSON for unknown URLs, people get Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: JSON under /api/ (no traceback or page markup), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)
