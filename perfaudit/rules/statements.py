"""pg_stat_statements rules: the extension not collecting, slow statements, evicted entries."""

from __future__ import annotations

from dataclasses import asdict

from perfaudit.catalog.statements import StatementsSnapshot
from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.sqltext import EXPLAINABLE, first_keyword


def evaluate(snapshot: StatementsSnapshot, conf: PerfauditSettings) -> list[Finding]:
    status = snapshot.status
    if not status.usable:
        return [
            Finding(
                kind="pg_stat_statements_missing",
                severity="warning",
                table=None,
                object="pg_stat_statements",
                message="pg_stat_statements is not collecting: " + status.how_to_enable(),
                evidence=asdict(status),
                fix=Fix(
                    sql="CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
                    if status.preloaded
                    else "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; -- "
                    "then restart PostgreSQL and CREATE EXTENSION IF NOT EXISTS "
                    "pg_stat_statements;"
                ),
            )
        ]
    findings = []
    for row in snapshot.statements:
        # Utility statements (CREATE INDEX, COPY, VACUUM) are listed but not flagged: they
        # are maintenance, and EXPLAIN cannot say anything about them.
        if (
            conf.SLOW_QUERY_MS
            and row.mean_ms >= conf.SLOW_QUERY_MS
            and first_keyword(row.query) in EXPLAINABLE
        ):
            text = " ".join(row.query.split())
            findings.append(
                Finding(
                    kind="slow_query",
                    severity="warning",
                    table=None,
                    object=f"queryid {row.queryid}",
                    message=f"mean {row.mean_ms:,.1f} ms (max {row.max_ms:,.1f}) over "
                    f"{row.calls:,} calls: {text[:150]}",
                    evidence=asdict(row) | {"hit_ratio": row.hit_ratio},
                    fix=Fix(
                        sql=f"-- manage.py explain {'' if '$' in text else '--analyze '}{text!r}"
                    ),
                )
            )
    if status.deallocations:
        findings.append(
            Finding(
                kind="statements_evicted",
                severity="info",
                table=None,
                object="pg_stat_statements",
                message=f"{status.deallocations:,} entries were evicted since the reset: raise "
                "pg_stat_statements.max so rare statements are kept",
                evidence={"deallocations": status.deallocations},
            )
        )
    return findings
