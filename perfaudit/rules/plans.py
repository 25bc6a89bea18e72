"""Diagnostics on an EXPLAIN (FORMAT JSON) plan. Each finding names the node it refers to.

Nodes are numbered depth-first from 1 (perfaudit.snapshots.plans.walk), the same numbers the
human plan rendering shows.
"""

from __future__ import annotations

from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.snapshots.plans import PlanNode, PlanSnapshot, walk


def estimated_rows(n: PlanNode) -> float:
    return n.node.get("Plan Rows", 0) * max(n.node.get("Actual Loops", 1), 1)


def evaluate(snapshot: PlanSnapshot, conf: PerfauditSettings) -> list[Finding]:
    return diagnose(
        snapshot.explained.plan,
        table_rows=snapshot.table_rows,
        conf=conf,
        statement=snapshot.explained.sql,
    )


def _seq_scan_advice(filter_text: str) -> str:
    # A LIKE/ILIKE whose pattern starts with a wildcard ('%x%') cannot use a B-tree at all,
    # so the usual "index the filtered columns" advice would be wrong for it.
    if "~~" in filter_text and "'%" in filter_text:
        return (
            "-- a LIKE/ILIKE pattern starting with % cannot use a B-tree index; a trigram GIN "
            "index can: CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX CONCURRENTLY ... "
            "USING gin (<column> gin_trgm_ops); or full-text search"
        )
    return (
        "-- an index on the filtered/joined columns, leading with the equality columns, lets "
        "this become an index scan"
    )


def diagnose(
    plan: dict, *, table_rows: dict[str, int], conf: PerfauditSettings, statement: str = ""
) -> list[Finding]:
    """``plan`` is the top "Plan" object; ``table_rows`` the planner row counts per table."""
    findings = []

    def add(kind, severity, node: PlanNode, message, evidence, fix=None):
        findings.append(
            Finding(
                kind=kind,
                severity=severity,
                table=node.node.get("Relation Name"),
                object=node.label,
                message=message,
                evidence={"node": node.number, "statement": statement[:200], **evidence},
                fix=fix or Fix(),
            )
        )

    for n in walk(plan):
        node, kind = n.node, n.node.get("Node Type", "")
        actual = n.actual_total_rows()
        if kind == "Seq Scan":
            rows = table_rows.get(node.get("Relation Name", ""), 0)
            if rows >= conf.SEQ_SCAN_MIN_ROWS:
                add(
                    "plan_seq_scan",
                    "warning",
                    n,
                    f"sequential scan over {node.get('Relation Name')} (~{rows:,} rows)"
                    + (f" with filter {node['Filter']}" if node.get("Filter") else ""),
                    {
                        "table_rows": rows,
                        "filter": node.get("Filter"),
                        "rows_removed_by_filter": node.get("Rows Removed by Filter"),
                    },
                    Fix(sql=_seq_scan_advice(node.get("Filter") or "")),
                )
        if actual is not None and not (n.limited and actual < estimated_rows(n)):
            estimated = node.get("Plan Rows", 0) * max(node.get("Actual Loops", 1), 1)
            bigger, smaller = max(actual, estimated), max(min(actual, estimated), 1)
            if bigger >= conf.PLAN_MIN_ROWS and bigger / smaller >= conf.ROW_ESTIMATE_FACTOR:
                add(
                    "plan_misestimate",
                    "warning",
                    n,
                    f"planner estimated {estimated:,.0f} rows, got {actual:,.0f} "
                    f"({bigger / smaller:,.0f}x off): stale or too coarse statistics",
                    {"estimated_rows": estimated, "actual_rows": actual},
                    Fix(
                        sql=f"ANALYZE {node['Relation Name']};"
                        if node.get("Relation Name")
                        else "-- ANALYZE the tables involved; consider CREATE STATISTICS "
                        "for correlated columns"
                    ),
                )
        if kind in ("Sort", "Incremental Sort") and (
            node.get("Sort Space Type") == "Disk" or "external" in node.get("Sort Method", "")
        ):
            add(
                "plan_spill",
                "warning",
                n,
                f"sort spilled to disk ({node.get('Sort Method')}, "
                f"{node.get('Sort Space Used')} kB)",
                {"sort_method": node.get("Sort Method"), "space_kb": node.get("Sort Space Used")},
                Fix(sql="-- raise work_mem for this query, or serve the order from an index"),
            )
        if (
            kind == "Hash"
            and max(node.get("Hash Batches", 1), node.get("Original Hash Batches", 1)) > 1
        ):
            add(
                "plan_spill",
                "warning",
                n,
                f"hash spilled to disk in {node.get('Hash Batches')} batches",
                {
                    "hash_batches": node.get("Hash Batches"),
                    "peak_memory_kb": node.get("Peak Memory Usage"),
                },
                Fix(sql="-- raise work_mem (or hash_mem_multiplier) for this query"),
            )
        if kind == "Index Only Scan" and actual:
            fetches = node.get("Heap Fetches", 0)
            if fetches >= conf.PLAN_MIN_ROWS and fetches / actual >= conf.HEAP_FETCH_RATIO:
                add(
                    "plan_heap_fetches",
                    "warning",
                    n,
                    f"index-only scan visited the heap {fetches:,} times for {actual:,.0f} "
                    "rows: the visibility map is stale",
                    {"heap_fetches": fetches, "actual_rows": actual},
                    Fix(sql=f"VACUUM {node.get('Relation Name', '')};"),
                )
        if kind in ("Index Scan", "Bitmap Heap Scan", "Index Only Scan") and actual is not None:
            loops = max(node.get("Actual Loops", 1), 1)
            removed = (
                node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
            ) * loops
            if removed >= conf.PLAN_MIN_ROWS and removed >= conf.FILTER_DISCARD_FACTOR * max(
                actual, 1
            ):
                add(
                    "plan_filter_discard",
                    "warning",
                    n,
                    f"the filter threw away {removed:,.0f} of {removed + actual:,.0f} rows "
                    f"the index returned ({node.get('Filter') or node.get('Recheck Cond')})",
                    {"rows_removed": removed, "actual_rows": actual, "filter": node.get("Filter")},
                    Fix(
                        sql="-- add the filtered column to the index (after the equality "
                        "columns) or make it a partial index"
                    ),
                )
    return findings
