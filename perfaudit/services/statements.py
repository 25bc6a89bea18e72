"""slowqueries: collect pg_stat_statements (optionally reset first), evaluate, report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import DatabaseError

from perfaudit.catalog import statements as catalog
from perfaudit.catalog.statements import Statement, StatementsStatus
from perfaudit.conf import get_settings
from perfaudit.errors import ServiceError, one_line
from perfaudit.findings import Report
from perfaudit.rules import statements as rules
from perfaudit.services.base import envelope, get_connection


@dataclass(kw_only=True)
class SlowQueriesReport(Report):
    status: StatementsStatus
    queries: list[Statement] = field(default_factory=list)
    slow_query_min_calls: int = 1

    def payload(self) -> dict[str, Any]:
        return {
            "pg_stat_statements": asdict(self.status) | {"usable": self.status.usable},
            "queries": [asdict(r) | {"hit_ratio": r.hit_ratio} for r in self.queries],
        }

    def to_dict(self) -> dict[str, Any]:
        document = super().to_dict()
        document["pg_stat_statements"]["slow_query_min_calls"] = self.slow_query_min_calls
        return document


def slow_queries(
    *,
    using: str = "default",
    min_mean_ms: float = 0.0,
    min_calls: int = 1,
    order: str = "total",
    limit: int = 20,
    reset: bool = False,
    probe_generic_plans: bool = True,
) -> SlowQueriesReport:
    """``probe_generic_plans``: check that each flagged $n statement's printed explain command
    runs (3 queries per statement, at most catalog.GENERIC_PLAN_PROBES); the overview, which
    prints no fixes, turns it off."""
    connection = get_connection(using)
    conf = get_settings()
    options = {"min_mean_ms": min_mean_ms, "min_calls": min_calls, "order": order, "limit": limit}
    if reset and catalog.statements_status(connection).usable:
        try:
            catalog.reset_statements(connection)
        except DatabaseError as exc:
            raise ServiceError(f"reset refused: {one_line(exc)}") from None
    snapshot = catalog.collect(
        connection,
        **options,
        slow_ms=conf.SLOW_QUERY_MS,
        flag_min_calls=conf.SLOW_QUERY_MIN_CALLS,
        min_share=conf.TIME_SHARE_RATIO,
        probe_timeout_ms=conf.STATEMENT_TIMEOUT_MS if probe_generic_plans else None,
    )
    findings = rules.evaluate(snapshot, conf)
    return SlowQueriesReport(
        **envelope(connection, snapshot.server, findings),
        status=snapshot.status,
        queries=snapshot.statements,
        slow_query_min_calls=conf.SLOW_QUERY_MIN_CALLS,
    )
