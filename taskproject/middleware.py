"""Fail fast and in JSON when the database cannot serve a request.

Unreachable server, killed connection, pool timeout (psycopg_pool.PoolTimeout), statement
timeout (QueryCanceled), deadlock: all surface as Django's OperationalError/InterfaceError.
Without this they become an HTML 500 page; API clients get a JSON 503 with Retry-After instead,
which tells them (and load balancers) the failure is temporary. Django discards the broken
connection at the end of the request, and CONN_HEALTH_CHECKS makes the next request reconnect.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.utils.deprecation import MiddlewareMixin

logger = logging.getLogger("taskproject.database")


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        cause = exception.__cause__ or exception
        logger.warning(
            "database unavailable for %s %s: %s: %s",
            request.method,
            request.path,
            cause.__class__.__name__,
            str(cause).strip().splitlines()[0] if str(cause).strip() else "",
        )
        return JsonResponse(
            {"detail": "The database is temporarily unavailable; retry shortly."},
            status=503,
            headers={"Retry-After": "1"},
        )
