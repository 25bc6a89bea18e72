"""The admin's Advisor page: HypoPG or unverified, never a build."""

from __future__ import annotations

from perfaudit.services.advisor.report import AdvisorReport
from perfaudit.services.advisor.run import advise_indexes

# --- admin -------------------------------------------------------------------------------------


def advisor_page(
    *, using: str = "default", sql: str | None = None, timeout_ms: int | None = None
) -> AdvisorReport:
    """The admin page: one statement (queries only) or the top statements. HypoPG or
    unverified, never a build: a web request must not take a table lock."""
    if sql:
        return advise_indexes(using=using, sqls=[sql], select_only=True, timeout_ms=timeout_ms)
    return advise_indexes(using=using, timeout_ms=timeout_ms)
