"""Runtime detectors: slow-query log, repeated-query (N+1) detection, Server-Timing header.

``PerfauditMiddleware`` records each request's queries with perfaudit.recording's
``QueryRecorder`` (counts and time only, nothing kept) and two listeners: the slow-query log and
the repeated-query detector. Stack walking (to name the caller) happens only for queries that
are reported.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.db import connections

from perfaudit import sqltext
from perfaudit.conf import get_settings
from perfaudit.recording import PLUMBING_KEYWORDS, QueryRecorder, RecordedQuery, find_caller

slow_logger = logging.getLogger("perfaudit.slow_queries")
repeated_logger = logging.getLogger("perfaudit.repeated_queries")

__all__ = ["PerfauditMiddleware", "RepeatedQueriesError", "find_caller", "recorder_from_settings"]


class RepeatedQueriesError(AssertionError):
    """Raised (REPEATED_QUERY_MODE = "raise") when one SQL fingerprint repeats too often."""


@dataclass
class SlowQueryLog:
    path: str | None
    slow_ms: float

    def __call__(self, query: RecordedQuery, recorder: QueryRecorder) -> None:
        if query.duration_ms < self.slow_ms:
            return
        caller = find_caller()
        slow_logger.warning(
            "slow query (%.1f ms, %s) on %s from %s: %s",
            query.duration_ms,
            query.alias,
            self.path or "-",
            caller,
            " ".join(query.sql.split())[:500],
            extra={
                "duration_ms": query.duration_ms,
                "path": self.path,
                "caller": caller,
                "sql": query.sql,
                "alias": query.alias,
            },
        )


@dataclass
class RepeatedQueryDetector:
    """Counts statements by fingerprint; reports one the ``threshold``-th time it runs."""

    path: str | None
    threshold: int
    mode: str
    fingerprints: Counter = field(default_factory=Counter)
    reported: list[dict] = field(default_factory=list)

    def __call__(self, query: RecordedQuery, recorder: QueryRecorder) -> None:
        if query.keyword in PLUMBING_KEYWORDS:
            return
        key = sqltext.fingerprint(query.sql)
        self.fingerprints[key] += 1
        if self.fingerprints[key] == self.threshold:
            self._report(" ".join(query.sql.split()))

    def _report(self, sql: str) -> None:
        caller = find_caller()
        message = (
            f"{self.threshold} identical queries on {self.path or '-'} from {caller} "
            f"(N+1? use select_related/prefetch_related or one aggregate): {sql[:300]}"
        )
        self.reported.append({"sql": sql, "caller": caller, "path": self.path})
        if self.mode == "raise":
            raise RepeatedQueriesError(message)
        repeated_logger.warning(message, extra={"path": self.path, "caller": caller, "sql": sql})


def recorder_from_settings(path: str | None = None) -> QueryRecorder:
    """A recorder keeping nothing, with the listeners settings.PERFAUDIT turns on."""
    conf = get_settings()
    recorder = QueryRecorder(keep=False)
    if conf.SLOW_QUERY_MS is not None and conf.SLOW_QUERY_MS > 0:
        recorder.listeners.append(SlowQueryLog(path, conf.SLOW_QUERY_MS))
    if conf.REPEATED_QUERY_MODE != "off" and conf.REPEATED_QUERY_THRESHOLD:
        recorder.listeners.append(
            RepeatedQueryDetector(path, conf.REPEATED_QUERY_THRESHOLD, conf.REPEATED_QUERY_MODE)
        )
    return recorder


class PerfauditMiddleware:
    """Per request: slow-query log, repeated-query detection, ``Server-Timing`` header.

    Under WSGI every query of the request runs on this thread and is recorded by an
    execute_wrapper. Under ASGI the middleware stays on the event loop (no thread hop): it
    records what native async drivers report through ``perfaudit.recording.record_statement``
    (ORM queries run on sync_to_async's worker thread, whose thread-local connections an
    execute_wrapper installed here cannot reach).
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
            return self._acall(request)
        recorder = recorder_from_settings(request.path)
        with recorder.installed(connection.alias for connection in connections.all()):
            response = self.get_response(request)
        return _with_server_timing(response, recorder)

    async def _acall(self, request):
        recorder = recorder_from_settings(request.path)
        with recorder.active():
            response = await self.get_response(request)
        return _with_server_timing(response, recorder)


def _with_server_timing(response, recorder: QueryRecorder):
    if get_settings().SERVER_TIMING:
        existing = response.get("Server-Timing")
        value = recorder.server_timing()
        response["Server-Timing"] = f"{existing}, {value}" if existing else value
    return response
