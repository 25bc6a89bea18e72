"""perfaudit.testing's pytest fixtures (this module imports pytest; perfaudit.testing does not)."""

from __future__ import annotations

import pytest

from perfaudit.testing import capture_queries, no_repeated_queries, query_budget


@pytest.fixture
def perfaudit_queries():
    """``with perfaudit_queries() as captured: ...``; then ``captured.statements``."""
    return capture_queries


@pytest.fixture
def perfaudit_query_budget():
    return query_budget


@pytest.fixture
def perfaudit_no_repeated_queries():
    return no_repeated_queries
