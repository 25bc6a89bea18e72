"""Fail fast and in JSON when the database cannot serve a request.

Unreachable server, killed connection, pool timeout (psycopg_pool.PoolTimeout), statement
timeout (QueryCanceled), deadlock: all surface as Django's OperationalError/InterfaceError.
Without this they become an HTML 500 page; API clients get a JSON 503 with Retry-After instead,
which tells them (and load balancers) the failure is temporary. Django discards the broken
connection at the end of the request, and CONN_HEALTH_CHECKS makes the next request reconnect.
"""

import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed, RequestDataTooBig
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.middleware import clickjacking, common, security
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string

logger = logging.getLogger("taskproject.database")


class SyncAndAsyncMiddleware:
    """A middleware that runs in whichever mode its chain is (Django's "sync_capable and
    async_capable" pattern): ``is_async`` tells the subclass which ``__call__`` path to take."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)


class InlineAsyncMixin:
    """For a MiddlewareMixin middleware whose hooks are pure CPU (no I/O): under ASGI, run
    ``process_request``/``process_response`` on the event loop. MiddlewareMixin would run each
    hook through ``sync_to_async``: a thread hop there and back per hook, per request, the
    largest cost of Django's ASGI path for a fast endpoint (docs/performance.md)."""

    def __call__(self, request):
        if self.async_mode:
            return self._inline_acall(request)
        return super().__call__(request)

    async def _inline_acall(self, request):
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


# Django's own, inline under ASGI: headers and redirects computed from the request, nothing
# else. Used in the token API chain (TokenAPIMiddleware); MIDDLEWARE keeps Django's names.
class SecurityMiddleware(InlineAsyncMixin, security.SecurityMiddleware):
    pass


class CommonMiddleware(InlineAsyncMixin, common.CommonMiddleware):
    pass


class XFrameOptionsMiddleware(InlineAsyncMixin, clickjacking.XFrameOptionsMiddleware):
    pass


class StaticFilesMiddleware:
    """Static files from STATIC_ROOT: WhiteNoise under WSGI, ServeStatic under ASGI.

    ServeStatic (a fork of WhiteNoise) is async-only: in a sync chain Django would run it through
    async_to_sync, an event loop per request. WhiteNoise is sync-only: in an async chain every
    request would hop to a thread and back. Each is the native one for its handler; both read
    the same settings (STATIC_ROOT, STATIC_URL, the manifest storage).
    """

    sync_capable = True
    async_capable = True

    def __new__(cls, get_response):
        if iscoroutinefunction(get_response):
            from servestatic.middleware import ServeStaticMiddleware

            return ServeStaticMiddleware(get_response)
        from whitenoise.middleware import WhiteNoiseMiddleware

        return WhiteNoiseMiddleware(get_response)


def database_unavailable_response(request, exception) -> JsonResponse:
    """The 503 JSON (and its log line) for a request the database could not serve; also what
    the async views answer when a native statement fails (tasks/async_views.py)."""
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


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        return database_unavailable_response(request, exception)


class RequestBodyLimitMiddleware(InlineAsyncMixin, MiddlewareMixin):
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


class ApiJsonErrorsMiddleware(SyncAndAsyncMiddleware):
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

        super().__init__(get_response)
        self._is_valid_path = is_valid_path

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        if not request.path_info.startswith(self.prefix):
            return self.get_response(request)
        return self._missing_slash_response(request) or self._json_errors(
            self.get_response(request)
        )

    async def _acall(self, request):
        if not request.path_info.startswith(self.prefix):
            return await self.get_response(request)
        early = self._missing_slash_response(request)
        return early or self._json_errors(await self.get_response(request))

    def _missing_slash_response(self, request):
        missing_slash = self._missing_slash(request)
        if missing_slash:
            return JsonResponse(
                {"detail": f"Not found. Did you mean {missing_slash} (with a trailing slash)?"},
                status=404,
            )
        return None

    def _json_errors(self, response):
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


def is_token_api_request(request) -> bool:
    """An API request that authenticates with ``Authorization: Token …`` (DRF's Token class,
    and the async views, take such a request by its token alone: no session is ever read)."""
    return request.path_info.startswith("/api/") and request.META.get("HTTP_AUTHORIZATION", "")[
        :6
    ].lower() in ("token", "token ")


class ChainHandler(BaseHandler):
    """A BaseHandler whose chain is built from the given middleware paths, not MIDDLEWARE.

    Django's ``load_middleware`` reads ``settings.MIDDLEWARE`` and has no parameter for the
    list; this is the same construction (method-mode adaptation, MiddlewareNotUsed, the
    view/template-response/exception hooks) over another list, with settings left alone (silk,
    for one, checks MIDDLEWARE when it is instantiated).
    """

    def __init__(self, paths: list[str]):
        self.paths = paths

    def load_middleware(self, is_async=False):
        self._view_middleware, self._template_response_middleware = [], []
        self._exception_middleware = []
        get_response = self._get_response_async if is_async else self._get_response
        handler = convert_exception_to_response(get_response)
        handler_is_async = is_async
        for path in reversed(self.paths):
            middleware = import_string(path)
            can_sync = getattr(middleware, "sync_capable", True)
            can_async = getattr(middleware, "async_capable", False)
            is_async_mw = False if (not handler_is_async and can_sync) else can_async
            adapted = self.adapt_method_mode(
                is_async_mw, handler, handler_is_async, debug=settings.DEBUG, name=path
            )
            try:
                instance = middleware(adapted)
            except MiddlewareNotUsed:
                continue
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(
                    0, self.adapt_method_mode(is_async, instance.process_view)
                )
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(
                    self.adapt_method_mode(is_async, instance.process_template_response)
                )
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(
                    self.adapt_method_mode(False, instance.process_exception)
                )
            handler = convert_exception_to_response(instance)
            handler_is_async = is_async_mw
        self._middleware_chain = self.adapt_method_mode(is_async, handler, handler_is_async)


class TokenAPIMiddleware(SyncAndAsyncMiddleware):
    """Token-authenticated API requests skip the browser's middleware: sessions, CSRF, auth,
    messages (settings.TOKEN_API_SKIPPED_MIDDLEWARE), and run Django's pure-CPU middleware
    inline under ASGI (settings.TOKEN_API_INLINE_MIDDLEWARE, InlineAsyncMixin).

    Such a request is authenticated by its token: DRF tries TokenAuthentication first, which
    either returns the token's user or fails the request, so SessionAuthentication (and its
    CSRF check) never runs for it, and the async views do the same. What those four would do is
    load a session, set a lazy user, read the CSRF cookie and set up message storage, for
    nothing: under ASGI they are four sync middlewares, eight thread hops per request. Every
    other request (browsers, admin, anonymous) takes the full chain.

    The lean chain is a second BaseHandler built from the middleware below this one minus the
    skipped ones, in the same order, so both chains end in the same URL resolution and views.
    """

    def __init__(self, get_response):
        super().__init__(get_response)
        self.lean = self._lean_chain(self.is_async)

    @classmethod
    def _lean_chain(cls, is_async: bool):
        path = f"{cls.__module__}.{cls.__qualname__}"
        full = list(settings.MIDDLEWARE)
        below = full[full.index(path) + 1 :] if path in full else full
        inline = settings.TOKEN_API_INLINE_MIDDLEWARE
        skipped = settings.TOKEN_API_SKIPPED_MIDDLEWARE
        lean = [inline.get(m, m) for m in below if m not in skipped]
        handler = ChainHandler(lean)
        handler.load_middleware(is_async=is_async)
        return handler._middleware_chain

    def __call__(self, request):
        chain = self.lean if is_token_api_request(request) else self.get_response
        return chain(request)
