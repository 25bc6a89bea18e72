"""django-silk that records what the request really ran (settings: SILK_ENABLED=1).

Silk 5.6 learns about SQL by patching ``SQLCompiler.execute_sql``: it sees ORM querysets only,
so the API's hot paths, which run fixed SQL through a cursor (token lookup, task pages, INSERT),
were invisible to it (0 queries for ``GET /api/tasks/``), and it ran an extra ``EXPLAIN`` for
every query it did see, which then filled ``pg_stat_statements``. ``SilkMiddleware`` replaces
that hook with a ``connection.execute_wrapper`` on every database alias for the span of the
request: every statement the request sends (ORM, raw cursor, transaction control) is recorded
once, in order, with its traceback, and silk's own bookkeeping queries (saving the request and
its queries) are counted as silk's overhead (``SILKY_META``), not as the request's. No EXPLAIN
is run: ``manage.py explain`` / the admin's EXPLAIN page do that on demand.

It also never records static files, debug-toolbar panels or silk's own pages (``_IGNORED``):
before, 1,234 of 1,423 recorded requests were ``/static/…``.

Statement text is recorded with its parameters substituted (like silk does), so what a query
sends is visible to staff in /silk/: the token lookup sends a digest of the token, never the
token itself, and silk's own masking (SILKY_SENSITIVE_KEYS) still covers bodies and headers.
"""

from __future__ import annotations

import random
import traceback
from contextlib import ExitStack

from django.conf import settings
from django.db import connections
from django.urls import NoReverseMatch
from django.utils import timezone
from silk.collector import DataCollector
from silk.config import SilkyConfig
from silk.middleware import get_fpath
from silk.model_factory import RequestModelFactory
from silk.profiling.profiler import silk_meta_profiler

from taskproject.silk import CredentialMaskingSilkyMiddleware


def _ignored_prefixes() -> tuple[str, ...]:
    prefixes = ["/" + settings.STATIC_URL.lstrip("/"), "/__debug__/", "/favicon.ico"]
    if settings.MEDIA_URL:
        prefixes.append("/" + settings.MEDIA_URL.lstrip("/"))
    return tuple(p for p in prefixes if p != "/")


def should_record(request) -> bool:
    """Silk's sampling, minus the paths that are not the application's requests."""
    if request.path_info.startswith(_ignored_prefixes()):
        return False
    try:
        silk_page = request.path.startswith(get_fpath())
    except NoReverseMatch:  # silk's URLs not mounted: nothing of its own to exclude
        silk_page = False
    if silk_page:
        return False
    config = SilkyConfig()
    if request.path_info in config.SILKY_IGNORE_PATHS:
        return False
    percent = config.SILKY_INTERCEPT_PERCENT
    return percent >= 100 or random.random() * 100 < percent  # noqa: S311 - sampling


def _statement_text(connection, sql: str, params, many: bool) -> str:
    if many:
        return f"{sql}  -- executemany, {len(params or [])} parameter sets"
    if not params:
        return sql
    try:
        return connection.ops.compose_sql(sql, params)
    except Exception:  # a statement we cannot render is still recorded
        return f"{sql}  -- params: {params!r}"[:10_000]


class _Recorder:
    """execute_wrapper: each statement into silk's collector, as the request's or silk's own."""

    def __init__(self, *, own: bool):
        self.own = own

    def __call__(self, execute, sql, params, many, context):
        collector = DataCollector()
        if collector.request is None:
            return execute(sql, params, many, context)
        start = timezone.now()
        try:
            return execute(sql, params, many, context)
        finally:
            query = {
                "query": _statement_text(context["connection"], sql, params, many),
                "start_time": start,
                "end_time": timezone.now(),
                "request": collector.request,
            }
            if self.own:
                collector.register_silk_query(query)
            else:
                query["traceback"] = "".join(reversed(traceback.format_stack()[:-1]))
                collector.register_query(query)


def _wrapped(recorder):
    stack = ExitStack()
    for connection in connections.all():
        stack.enter_context(connection.execute_wrapper(recorder))
    return stack


class SilkMiddleware(CredentialMaskingSilkyMiddleware):
    """Silk's middleware recording every statement, with response bodies that hold a credential
    masked (the parent class, taskproject/silk.py)."""

    def __call__(self, request):
        self.process_request(request)
        request.silk_filters = {}
        if getattr(request, "silk_is_intercepted", False):
            with _wrapped(_Recorder(own=False)):
                response = self.get_response(request)
            with _wrapped(_Recorder(own=True)):
                return self.process_response(request, response)
        return self.get_response(request)

    @silk_meta_profiler()
    def process_request(self, request):
        # silk's own process_request, without its SQLCompiler patch (see the module docstring).
        DataCollector().clear()
        if not should_record(request):
            return
        request.silk_is_intercepted = True
        self._apply_dynamic_mappings()
        config = SilkyConfig()
        should_profile = config.SILKY_PYTHON_PROFILER
        if config.SILKY_PYTHON_PROFILER_FUNC:
            should_profile = config.SILKY_PYTHON_PROFILER_FUNC(request)
        request_model = RequestModelFactory(request).construct_request_model()
        DataCollector().configure(request_model, should_profile=should_profile)
