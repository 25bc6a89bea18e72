"""Query assertions for any project's tests: query budgets and no repeated (N+1) queries.

Use the context managers directly, or the pytest fixtures (``from perfaudit.testing import
perfaudit_query_budget, perfaudit_no_repeated_queries`` in a conftest.py)::

    with query_budget(3):          # 1 user, 2 tasks page, 3 count
        client.get("/api/tasks/")

    with no_repeated_queries():
        client.get("/api/users/")
"""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack, contextmanager

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from perfaudit import sqltext
from perfaudit.runtime import _IGNORED_KEYWORDS, find_caller


@contextmanager
def query_budget(max_queries: int, *, using: str = "default"):
    """Fail if the block runs more than ``max_queries`` queries; lists them when it does."""
    with CaptureQueriesContext(connections[using]) as captured:
        yield captured
    if len(captured) > max_queries:
        listing = "\n".join(
            f"  {n}. {' '.join(q['sql'].split())[:200]}"
            for n, q in enumerate(captured.captured_queries, 1)
        )
        raise AssertionError(f"{len(captured)} queries, budget {max_queries}:\n{listing}")


@contextmanager
def no_repeated_queries(*, threshold: int = 2, using: str | None = None):
    """Fail if one SQL fingerprint runs ``threshold`` times or more (an N+1 loop).

    Fingerprints ignore literal values and IN-list lengths, so raw SQL with inlined values is
    caught too, not only ORM queries.
    """
    counts: Counter = Counter()
    callers: dict[str, str] = {}

    def wrapper(execute, sql, params, many, context):
        if sqltext.first_keyword(sql) not in _IGNORED_KEYWORDS:
            key = sqltext.fingerprint(sql)
            counts[key] += 1
            callers.setdefault(key, find_caller())
        return execute(sql, params, many, context)

    aliases = [using] if using else list(connections)
    with ExitStack() as stack:
        for alias in aliases:
            stack.enter_context(connections[alias].execute_wrapper(wrapper))
        yield counts
    repeated = {k: n for k, n in counts.items() if n >= threshold}
    if repeated:
        listing = "\n".join(f"  {n}x from {callers[k]}: {k[:200]}" for k, n in repeated.items())
        raise AssertionError(f"repeated queries (N+1?):\n{listing}")


@pytest.fixture
def perfaudit_query_budget():
    return query_budget


@pytest.fixture
def perfaudit_no_repeated_queries():
    return no_repeated_queries
