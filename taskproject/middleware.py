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


# The "detail" of a JSON error that replaced an HTML page, by status.
_API_ERROR_DETAILS = {
    400: "Bad request.",
    403: "Forbidden.",
    404: "Not found.",
    405: "Method not allowed.",
    413: "Request body too large.",
    500: "Server error.",
}


class ApiJsonErrorsMiddleware:
    """Under /api/ every error is JSON ``{"detail": ...}``, with DEBUG on as well as off.

    With DEBUG on, Django answers an unknown URL, an uncaught exception or an oversized form body
    with its HTML debug pages (handler404/handler500 only apply with DEBUG off), and
    CommonMiddleware's APPEND_SLASH raises a RuntimeError for a POST without the trailing slash
    (it cannot redirect a POST without losing the body). API clients get the documented JSON in
    every mode; the traceback still goes to the ``django.request`` log. DRF's own responses
    (including the browsable API's HTML error pages) are left alone.
    """

    prefix = "/api/"

    def __init__(self, get_response):
        from django.urls import is_valid_path

        self.get_response = get_response
        self._is_valid_path = is_valid_path

    def __call__(self, request):
        if not request.path_info.startswith(self.prefix):
            return self.get_response(request)
        missing_slash = self._missing_slash(request)
        if missing_slash:
            return JsonResponse(
                {"detail": f"Not found. Did you mean {missing_slash} (with a trailing slash)?"},
                status=404,
            )
        response = self.get_response(request)
        if response.status_code >= 400 and self._is_page(response):
            status = response.status_code
            detail = _API_ERROR_DETAILS.get(status, response.reason_phrase + ".")
            replacement = JsonResponse({"detail": detail}, status=status)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response

    def _missing_slash(self, request) -> str | None:
        """The slashed path when an unsafe request lacks the slash CommonMiddleware would add."""
        path = request.path_info
        if (
            not settings.APPEND_SLASH
            or request.method in ("GET", "HEAD", "OPTIONS")
            or path.endswith("/")
            or self._is_valid_path(path, getattr(request, "urlconf", None))
        ):
            return None
        slashed = path + "/"
        if self._is_valid_path(slashed, getattr(request, "urlconf", None)):
            return request.get_full_path(force_append_slash=True).split("?")[0]
        return None

    @staticmethod
    def _is_page(response) -> bool:
        """Django's error pages: HTML, or the plain-text traceback DEBUG gives non-browsers."""
        from rest_framework.response import Response

        if isinstance(response, Response):
            return False
        return not response.get("Content-Type", "").startswith("application/json")
