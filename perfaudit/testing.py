"""Query assertions for any project's tests: capture, query budgets, no repeated (N+1) queries.

Use the context managers directly::

    with capture_queries() as captured:
        client.get("/api/tasks/")
    assert len(captured.statements) == 2  # 1 token + user, 2 the page

    with query_budget(3):          # 1 user, 2 tasks page, 3 count
        client.get("/api/tasks/")

    with no_repeated_queries():
        client.get("/api/users/")

or the pytest fixtures (``from perfaudit.testing import perfaudit_queries,
perfaudit_query_budget, perfaudit_no_repeated_queries`` in a conftest.py). pytest is imported
only when a fixture is: perfaudit itself does not need it at run time.

All three record with perfaudit.recording, the recorder the runtime middleware and
``explain --url`` use, so raw-cursor SQL is seen as well as the ORM's.
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager

from perfaudit import sqltext
from perfaudit.recording import QueryRecorder, find_caller, record_queries

__all__ = [
    "QueryRecorder",
    "capture_queries",
    "no_repeated_queries",
    "query_budget",
]


def capture_queries(*, using: str | None = "default"):
    """``with capture_queries() as captured:``; ``captured.statements`` is the SQL run, minus
    transaction plumbing (the savepoints a test's outer transaction adds around atomic blocks).
    ``using=None`` records on every database alias."""
    return record_queries(using=using)


@contextmanager
def query_budget(max_queries: int, *, using: str = "default"):
    """Fail if the block runs more than ``max_queries`` queries; lists them when it does."""
    with record_queries(using=using) as captured:
        yield captured
    if captured.count > max_queries:
        listing = "\n".join(
            f"  {n}. {' '.join(q.sql.split())[:200]}" for n, q in enumerate(captured.queries, 1)
        )
        raise AssertionError(f"{captured.count} queries, budget {max_queries}:\n{listing}")


@contextmanager
def no_repeated_queries(*, threshold: int = 2, using: str | None = None):
    """Fail if one SQL fingerprint runs ``threshold`` times or more (an N+1 loop).

    Fingerprints are PostgreSQL's parse tree without literal values and IN-list lengths, so raw
    SQL with inlined values is caught too, not only ORM queries.
    """
    counts: Counter = Counter()
    examples: dict[str, tuple[str, str]] = {}

    def listen(query, recorder):
        if query.is_plumbing:
            return
        key = sqltext.fingerprint(query.sql)
        counts[key] += 1
        if key not in examples:
            examples[key] = (find_caller(), " ".join(query.sql.split()))

    recorder = QueryRecorder(keep=False, listeners=[listen])
    with recorder.installed([using] if using else None):
        yield counts
    repeated = {k: n for k, n in counts.items() if n >= threshold}
    if repeated:
        listing = "\n".join(
            f"  {n}x from {examples[k][0]}: {examples[k][1][:200]}" for k, n in repeated.items()
        )
        raise AssertionError(f"repeated queries (N+1?):\n{listing}")


def __getattr__(name: str):
    # The pytest fixtures are built on first access, so importing perfaudit.testing (and
    # perfaudit) never needs pytest: it is a test-time extra (pip install django-perfaudit[pytest]).
    if name in {"perfaudit_queries", "perfaudit_query_budget", "perfaudit_no_repeated_queries"}:
        from perfaudit import pytest_fixtures

        return getattr(pytest_fixtures, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
