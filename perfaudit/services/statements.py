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

    def payload(self) -> dict[str, Any]:
        return {
            "pg_stat_statements": asdict(self.status) | {"usable": self.status.usable},
            "queries": [asdict(r) | {"hit_ratio": r.hit_ratio} for r in self.queries],
        }


def slow_queries(
    *,
    using: str = "default",
    min_mean_ms: float = 0.0,
    min_calls: int = 1,
    order: str = "total",
    limit: int = 20,
    reset: bool = False,
) -> SlowQueriesReport:
    connection = get_connection(using)
    options = {"min_mean_ms": min_mean_ms, "min_calls": min_calls, "order": order, "limit": limit}
    if reset and catalog.statements_status(connection).usable:
        try:
            catalog.reset_statements(connection)
        except DatabaseError as exc:
            raise ServiceError(f"reset refused: {one_line(exc)}") from None
    snapshot = catalog.collect(connection, **options)
    findings = rules.evaluate(snapshot, get_settings())
    return SlowQueriesReport(
        **envelope(connection, snapshot.server, findings),
        status=snapshot.status,
        queries=snapshot.statements,
    )
