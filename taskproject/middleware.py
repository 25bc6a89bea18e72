"""Fail fast and in JSON when the database cannot serve a request.

Unreachable server, killed connection, pool timeout (psycopg_pool.PoolTimeout), statement
timeout (QueryCanceled), deadlock: all surface as Django's OperationalError/InterfaceError.
Without this they become an HTML 500 page; API clients get a JSON 503 with Retry-After instead,
which tells them (and load balancers) the failure is temporary. Django discards the broken
connection at the end of the request, and CONN_HEALTH_CHECKS makes the next request reconnect.
"""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
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


class RequestBodyLimitMiddleware(MiddlewareMixin):
    """413 JSON for a request body larger than DATA_UPLOAD_MAX_MEMORY_SIZE, before any parsing.

    Django enforces that setting only when ``request.body`` or a form is read (and answers with
    an HTML 400); DRF's parsers read the stream directly and never hit it, so without this an
    API request body had no size limit at all. Checked on the declared Content-Length: the WSGI
    and ASGI handlers never read past it, so a client cannot send more than it declares.
    """

    def process_request(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "Invalid Content-Length header."}, status=400)
        if limit is not None and length > limit:
            return JsonResponse(
                {
                    "detail": f"Request body too large: {length} bytes; the limit is {limit} "
                    "bytes (MAX_REQUEST_BODY_BYTES)."
                },
                status=413,
            )
        return None

    def process_exception(self, request, exception):
        # A body read outside the check above (e.g. a form without Content-Length).
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse({"detail": f"Request body too large: {exception}"}, status=413)
        return None
