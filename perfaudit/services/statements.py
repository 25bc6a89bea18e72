"""slowqueries: collect pg_stat_statements (optionally reset first), evaluate, report.

By default the report lists the application's statements only: profiler tables (silk),
EXPLAINs, catalog reads, DDL/migrations and transaction control are counted in ``hidden`` and
listed with ``show_all`` (perfaudit.origin decides, in the catalog's collect). Each statement
carries its share of the total execution time of every statement of the database, hidden ones
included.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import DatabaseError

from perfaudit import sandbox
from perfaudit.catalog import statements as catalog
from perfaudit.conf import PerfauditSettings, get_settings
from perfaudit.errors import ServiceError, one_line
from perfaudit.findings import Report
from perfaudit.rules import statements as rules
from perfaudit.services.base import envelope, get_connection
from perfaudit.snapshots.statements import (
    Flaggable,
    HiddenGroup,
    Statement,
    StatementsSelection,
    StatementsStatus,
)


@dataclass(kw_only=True)
class SlowQueriesReport(Report):
    status: StatementsStatus
    queries: list[Statement] = field(default_factory=list)
    #: Every statement of the database (listed or not), for "% of total time".
    total_ms: float = 0.0
    show_all: bool = False
    #: What the default view leaves out, by origin (empty with show_all).
    hidden: list[HiddenGroup] = field(default_factory=list)

    def share(self, statement: Statement) -> float:
        """The statement's total time as a percentage of all statements' time."""
        return statement.total_ms * 100.0 / self.total_ms if self.total_ms > 0 else 0.0

    slow_query_min_calls: int = 1

    def payload(self) -> dict[str, Any]:
        return {
            "pg_stat_statements": asdict(self.status) | {"usable": self.status.usable},
            "show_all": self.show_all,
            "total_ms": self.total_ms,
            "hidden": [asdict(h) for h in self.hidden],
            "queries": [
                asdict(r) | {"hit_ratio": r.hit_ratio, "share_of_total": round(self.share(r), 3)}
                for r in self.queries
            ],
        }

    def to_dict(self) -> dict[str, Any]:
        document = super().to_dict()
        document["pg_stat_statements"]["slow_query_min_calls"] = self.slow_query_min_calls
        return document


def statements_selection(conf: PerfauditSettings, **listing) -> StatementsSelection:
    """The listing asked for, the application's statements told from the tools' with the
    profiler's table prefixes, and the entries the slow-query rules judge (PERFAUDIT's
    SLOW_QUERY_MS, SLOW_QUERY_MIN_CALLS, TIME_SHARE_RATIO)."""
    return StatementsSelection(
        **listing,
        profiler_prefixes=tuple(conf.PROFILER_TABLE_PREFIXES),
        flaggable=Flaggable(
            min_mean_ms=conf.SLOW_QUERY_MS,
            min_calls=conf.SLOW_QUERY_MIN_CALLS,
            min_share=conf.TIME_SHARE_RATIO,
        ),
    )


def slow_queries(
    *,
    using: str = "default",
    min_mean_ms: float = 0.0,
    min_calls: int = 1,
    order: str = "total",
    limit: int = 20,
    reset: bool = False,
    show_all: bool = False,
    probe_generic_plans: bool = True,
) -> SlowQueriesReport:
    """``probe_generic_plans``: check that each flagged $n statement's printed explain command
    runs (3 queries per statement, at most sandbox.GENERIC_PLAN_PROBES)."""
    connection = get_connection(using)
    conf = get_settings()
    if reset and catalog.statements_status(connection).usable:
        reset_statistics(using=using)
    selection = statements_selection(
        conf,
        min_mean_ms=min_mean_ms,
        min_calls=min_calls,
        order=order,
        limit=limit,
        show_all=show_all,
    )
    snapshot = catalog.collect(connection, selection)
    checks = (
        sandbox.check_generic_plans(
            connection, snapshot.candidates, timeout_ms=conf.STATEMENT_TIMEOUT_MS
        )
        if probe_generic_plans
        else sandbox.GenericPlanChecks()
    )
    findings = rules.evaluate(snapshot, conf, generic_plans=checks)
    return SlowQueriesReport(
        **envelope(connection, snapshot.server, findings),
        status=snapshot.status,
        queries=snapshot.statements,
        total_ms=snapshot.total_ms,
        show_all=show_all,
        hidden=snapshot.hidden,
        slow_query_min_calls=conf.SLOW_QUERY_MIN_CALLS,
    )


def reset_statistics(*, using: str = "default") -> StatementsStatus:
    """pg_stat_statements_reset() for this database; the status after (its new reset time)."""
    connection = get_connection(using)
    if not catalog.statements_status(connection).usable:
        raise ServiceError("pg_stat_statements is not collecting here: nothing to reset")
    try:
        catalog.reset_statements(connection)
    except DatabaseError as exc:
        raise ServiceError(f"reset refused: {one_line(exc)}") from None
    return catalog.statements_status(connection)
