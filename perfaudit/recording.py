"""The one query recorder: an execute_wrapper that sees every statement (ORM and raw cursor).

Recording is separate from what is done with it (debug-toolbar's split): the runtime middleware
listens for slow and repeated queries, ``perfaudit.testing`` asserts budgets and no N+1 over the
recorded list, and ``explain --url`` explains what a request ran. A recorder costs one
``perf_counter`` pair per query; stack walking happens only when a listener asks for the caller.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import connections

from perfaudit import sqltext

#: Transaction plumbing: it repeats legitimately and is not "a query" of the code under test.
PLUMBING_KEYWORDS = frozenset({"SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "SET"})

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


@dataclass(frozen=True)
class RecordedQuery:
    sql: str
    params: Any
    many: bool
    alias: str
    duration_ms: float

    @property
    def keyword(self) -> str:
        return sqltext.first_keyword(self.sql)

    @property
    def is_plumbing(self) -> bool:
        return self.keyword in PLUMBING_KEYWORDS

    @property
    def bound_sql(self) -> str:
        """The statement with its parameters bound, as the server received it (what Django's
        CaptureQueriesContext shows); computed only when asked, never on the request path."""
        if self.many or not self.params:
            return self.sql
        try:
            return connections[self.alias].ops.compose_sql(self.sql, self.params)
        except Exception:  # a listing must not fail on an odd parameter
            return self.sql


#: Called after each query with the query and the recorder (to read counts so far).
Listener = Callable[[RecordedQuery, "QueryRecorder"], None]


@dataclass
class QueryRecorder:
    """Times every statement run through it; keeps them unless ``keep`` is False."""

    keep: bool = True
    listeners: list[Listener] = field(default_factory=list)
    count: int = 0
    total_ms: float = 0.0
    queries: list[RecordedQuery] = field(default_factory=list)

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        result = execute(sql, params, many, context)
        elapsed = (time.perf_counter() - start) * 1000
        self.record(RecordedQuery(sql, params, many, context["connection"].alias, elapsed))
        return result

    def record(self, query: RecordedQuery) -> None:
        self.count += 1
        self.total_ms += query.duration_ms
        if self.keep:
            self.queries.append(query)
        for listener in self.listeners:
            listener(query, self)

    def __len__(self) -> int:
        return self.count

    @contextmanager
    def installed(self, aliases: Iterable[str] | None = None):
        """Record on these database aliases (default: every configured one) inside the block,
        and what ``record_statement`` reports from this context (native drivers)."""
        with ExitStack() as stack:
            for alias in list(connections) if aliases is None else aliases:
                stack.enter_context(connections[alias].execute_wrapper(self))
            stack.enter_context(self.active())
            yield self

    @contextmanager
    def active(self):
        """Only ``record_statement``'s reports: for async code, whose ORM queries run on other
        threads' connections, out of reach of an execute_wrapper installed here."""
        token = _active.set((*_active.get(), self))
        try:
            yield self
        finally:
            _active.reset(token)

    @property
    def statements(self) -> list[str]:
        """The SQL of the kept queries as sent (parameters bound), minus transaction plumbing
        (savepoints that a test's outer transaction adds around each atomic block; they do not
        exist in production)."""
        return [q.bound_sql for q in self.queries if not q.is_plumbing]

    def server_timing(self) -> str:
        return f'db;dur={self.total_ms:.1f};desc="{self.count} queries"'


# The recorders active in this context (a ContextVar: it follows a request through await points
# and into asgiref's thread hops, unlike the thread-local connections execute_wrappers sit on).
_active: ContextVar[tuple[QueryRecorder, ...]] = ContextVar("perfaudit_recorders", default=())


def record_statement(
    sql: str, params: Any, *, alias: str, duration_ms: float, many: bool = False
) -> None:
    """Report a statement that did not go through a Django cursor (e.g. a native async psycopg
    connection) to every recorder active in this context: counted, timed and listened to
    (slow-query log, N+1 detection, Server-Timing, test budgets) like any other."""
    recorders = _active.get()
    if recorders:
        query = RecordedQuery(sql, params, many, alias, duration_ms)
        for recorder in recorders:
            recorder.record(query)


@contextmanager
def record_queries(*, using: str | Iterable[str] | None = None, keep: bool = True):
    """``with record_queries() as recorder:``: every statement of the block, on ``using``."""
    aliases = [using] if isinstance(using, str) else using
    recorder = QueryRecorder(keep=keep)
    with recorder.installed(aliases):
        yield recorder
