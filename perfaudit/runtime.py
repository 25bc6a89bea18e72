"""Runtime detectors: slow-query log, repeated-query (N+1) detection, Server-Timing header.

``PerfauditMiddleware`` installs a ``connection.execute_wrapper`` for the duration of each
request. The wrapper costs one ``perf_counter`` pair and a dict update per query; stack walking
(to name the caller) happens only for queries that are reported.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.db import connections

from perfaudit import sqltext
from perfaudit.conf import get_settings

slow_logger = logging.getLogger("perfaudit.slow_queries")
repeated_logger = logging.getLogger("perfaudit.repeated_queries")

# Frames from these directories are plumbing, not "the caller" a developer wants to see.
_SKIP_DIRS = tuple(
    os.path.dirname(m.__file__) + os.sep
    for m in (sys.modules.get("django"), sys.modules.get("perfaudit"))
    if m is not None and getattr(m, "__file__", None)
)
_SKIP_PARTS = ("site-packages", "dist-packages", f"{os.sep}lib{os.sep}python")
_PERFAUDIT_TESTS = os.path.join("perfaudit", "tests")


def find_caller() -> str:
    """The innermost project frame on the stack: ``path:line in function``."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        plumbing = filename.startswith(_SKIP_DIRS) or any(p in filename for p in _SKIP_PARTS)
        if not plumbing or _PERFAUDIT_TESTS in filename:
            return f"{os.path.relpath(filename)}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    return "unknown"


class RepeatedQueriesError(AssertionError):
    """Raised (REPEATED_QUERY_MODE = "raise") when one SQL fingerprint repeats too often."""


# Transaction plumbing repeats legitimately.
_IGNORED_KEYWORDS = {"SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "SET"}


@dataclass
class QueryRecorder:
    """An execute_wrapper that times queries, logs slow ones and counts repeated ones."""

    path: str | None = None
    slow_ms: float | None = None
    repeated_threshold: int | None = None
    repeated_mode: str = "off"
    count: int = 0
    total_ms: float = 0.0
    fingerprints: Counter = field(default_factory=Counter)
    reported: list[dict] = field(default_factory=list)

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        result = execute(sql, params, many, context)
        elapsed = (time.perf_counter() - start) * 1000
        self.count += 1
        self.total_ms += elapsed
        alias = context["connection"].alias
        if self.slow_ms is not None and self.slow_ms > 0 and elapsed >= self.slow_ms:
            caller = find_caller()
            slow_logger.warning(
                "slow query (%.1f ms, %s) on %s from %s: %s",
                elapsed,
                alias,
                self.path or "-",
                caller,
                " ".join(sql.split())[:500],
                extra={
                    "duration_ms": elapsed,
                    "path": self.path,
                    "caller": caller,
                    "sql": sql,
                    "alias": alias,
                },
            )
        if (
            self.repeated_mode != "off"
            and self.repeated_threshold
            and sqltext.first_keyword(sql) not in _IGNORED_KEYWORDS
        ):
            key = sqltext.fingerprint(sql)
            self.fingerprints[key] += 1
            if self.fingerprints[key] == self.repeated_threshold:
                self._report_repeated(key)
        return result

    def _report_repeated(self, key: str) -> None:
        caller = find_caller()
        message = (
            f"{self.repeated_threshold} identical queries on {self.path or '-'} from {caller} "
            f"(N+1? use select_related/prefetch_related or one aggregate): {key[:300]}"
        )
        self.reported.append({"sql": key, "caller": caller, "path": self.path})
        if self.repeated_mode == "raise":
            raise RepeatedQueriesError(message)
        repeated_logger.warning(message, extra={"path": self.path, "caller": caller, "sql": key})

    def server_timing(self) -> str:
        return f'db;dur={self.total_ms:.1f};desc="{self.count} queries"'


def recorder_from_settings(path: str | None = None) -> QueryRecorder:
    conf = get_settings()
    return QueryRecorder(
        path=path,
        slow_ms=conf.SLOW_QUERY_MS,
        repeated_threshold=conf.REPEATED_QUERY_THRESHOLD,
        repeated_mode=conf.REPEATED_QUERY_MODE,
    )


class PerfauditMiddleware:
    """Per request: slow-query log, repeated-query detection, ``Server-Timing`` header.

    Under WSGI every query of the request runs on this thread and is recorded. Under ASGI the
    middleware passes requests through untouched: the ORM's queries run on sync_to_async's
    worker thread, whose (thread-local) connections an execute_wrapper installed here cannot
    reach, and being sync-only would force Django to hop every request of the whole middleware
    chain onto a thread (measured: async throughput x0.25, docs/performance.md).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.get_response(request)
        recorder = recorder_from_settings(request.path)
        with ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(recorder))
            response = self.get_response(request)
        if get_settings().SERVER_TIMING:
            existing = response.get("Server-Timing")
            value = recorder.server_timing()
            response["Server-Timing"] = f"{existing}, {value}" if existing else value
        return response
