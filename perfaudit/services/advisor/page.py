"""The admin's Advisor page: HypoPG, or a rolled-back build on small tables only."""

from __future__ import annotations

from perfaudit.services.advisor.report import AdvisorReport
from perfaudit.services.advisor.run import advise_indexes

# --- admin -------------------------------------------------------------------------------------


def advisor_page(
    *, using: str = "default", sql: str | None = None, timeout_ms: int | None = None
) -> AdvisorReport:
    """The admin page: one statement (queries only) or the top statements. HypoPG, or a build
    rolled back on tables up to ADVISOR_BUILD_MAX_BYTES (milliseconds of a lock on writes);
    never ``allow_build``: a web request must not lock a big table while it builds."""
    if sql:
        return advise_indexes(using=using, sqls=[sql], select_only=True, timeout_ms=timeout_ms)
    return advise_indexes(using=using, timeout_ms=timeout_ms)
