"""profilequery: time one read-only statement in the sandbox, evaluate, report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfaudit import gate, sandbox
from perfaudit.catalog import profile as catalog
from perfaudit.conf import get_settings
from perfaudit.errors import ServiceError
from perfaudit.findings import Report
from perfaudit.rules import profile as rules
from perfaudit.services.base import envelope, get_connection
from perfaudit.snapshots.profile import QueryProfile


@dataclass(kw_only=True)
class ProfileReport(Report):
    sql: str
    profile: QueryProfile

    def payload(self) -> dict[str, Any]:
        return {"sql": self.sql, "profile": self.profile.summary()}


def profile_query(
    *, using: str = "default", sql: str, iterations: int = 10, on_iteration=None
) -> ProfileReport:
    """``on_iteration(n, ms, rows)``: called after each run (the command prints progress)."""
    if iterations < 1:
        raise ServiceError("--iterations must be at least 1")
    connection = get_connection(using)
    gate.check(
        connection,
        sql,
        allowed=sandbox.SELECT_ONLY,
        refusal="is not profiled: profilequery runs the statement repeatedly in a read-only "
        "transaction; for a write, use manage.py explain --analyze (rolled back)",
    )
    conf = get_settings()
    timings = sandbox.time_query(
        connection,
        sql,
        iterations=iterations,
        timeout_ms=conf.STATEMENT_TIMEOUT_MS,
        on_iteration=on_iteration,
        role=conf.SQL_ROLE,
    )
    snapshot = catalog.collect(connection, timings)
    return ProfileReport(
        **envelope(connection, snapshot.server, rules.evaluate(snapshot, conf)),
        sql=sql,
        profile=snapshot.profile,
    )
