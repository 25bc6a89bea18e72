"""Table findings from pg_stat_user_tables: vacuum, analyze, sequential-scan-heavy reads."""

from __future__ import annotations

from perfaudit import ddl
from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.snapshots.tables import TableSnapshot, TableStats


def evaluate(snapshot: TableSnapshot, conf: PerfauditSettings) -> list[Finding]:
    return table_findings(snapshot.tables, conf=conf)


def table_findings(stats: list[TableStats], *, conf: PerfauditSettings) -> list[Finding]:
    findings = []
    for t in stats:
        if t.dead_tuples >= conf.DEAD_TUPLE_MIN and t.dead_ratio >= conf.DEAD_TUPLE_RATIO:
            findings.append(
                Finding(
                    kind="needs_vacuum",
                    severity="warning",
                    table=t.table,
                    object=t.table,
                    message=f"{t.dead_ratio:.0%} of tuples are dead ({t.dead_tuples:,}); "
                    + (
                        "autovacuum is disabled for this table (autovacuum_enabled=false, or "
                        "autovacuum off): nothing vacuums it unless you do"
                        if t.autovacuum_disabled
                        else "autovacuum is not keeping up"
                    ),
                    evidence={
                        "dead_tuples": t.dead_tuples,
                        "live_tuples": t.live_tuples,
                        "last_vacuumed": t.last_vacuumed,
                    },
                    fix=Fix(sql=f"VACUUM (ANALYZE) {ddl.ident(t.table)};"),
                )
            )
        threshold = conf.ANALYZE_MOD_RATIO * t.live_tuples + conf.DEAD_TUPLE_MIN
        if t.modified_since_analyze > threshold or (
            t.last_analyzed is None and t.live_tuples >= conf.DEAD_TUPLE_MIN
        ):
            findings.append(
                Finding(
                    kind="needs_analyze",
                    severity="warning",
                    table=t.table,
                    object=t.table,
                    message=f"{t.modified_since_analyze:,} rows changed since the last ANALYZE "
                    f"({t.last_analyzed or 'never'}): the planner works from stale estimates",
                    evidence={
                        "modified_since_analyze": t.modified_since_analyze,
                        "live_tuples": t.live_tuples,
                        "last_analyzed": t.last_analyzed,
                    },
                    fix=Fix(sql=f"ANALYZE {ddl.ident(t.table)};"),
                )
            )
        if (
            t.live_tuples >= conf.SEQ_SCAN_MIN_ROWS
            and t.seq_scans > t.index_scans
            and t.seq_scans > 0
            and t.seq_tuples_read / t.seq_scans >= conf.SEQ_SCAN_MIN_ROWS
        ):
            findings.append(
                Finding(
                    kind="seq_scan_heavy",
                    severity="warning",
                    table=t.table,
                    object=t.table,
                    message=f"read mostly by sequential scans ({t.seq_scans:,} seq vs "
                    f"{t.index_scans:,} index scans, ~{t.seq_tuples_read // t.seq_scans:,} "
                    "rows each)",
                    evidence={
                        "seq_scans": t.seq_scans,
                        "index_scans": t.index_scans,
                        "seq_tuples_read": t.seq_tuples_read,
                    },
                    fix=Fix(sql="-- find the queries with slowqueries, then explain them"),
                )
            )
    return findings
