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


def _seq_scan(n: PlanNode, table_rows: dict[str, int], conf: PerfauditSettings):
    node = n.node
    if node.get("Node Type") != "Seq Scan":
        return None
    rows = table_rows.get(node.get("Relation Name", ""), 0)
    if rows < conf.SEQ_SCAN_MIN_ROWS:
        return None
    return (
        "plan_seq_scan",
        f"sequential scan over {node.get('Relation Name')} (~{rows:,} rows)"
        + (f" with filter {node['Filter']}" if node.get("Filter") else ""),
        {
            "table_rows": rows,
            "filter": node.get("Filter"),
            "rows_removed_by_filter": node.get("Rows Removed by Filter"),
        },
        Fix(sql=_seq_scan_advice(node.get("Filter") or "")),
    )


def _misestimate(n: PlanNode, table_rows, conf: PerfauditSettings):
    node, actual = n.node, n.actual_total_rows()
    if actual is None or (n.limited and actual < estimated_rows(n)):
        return None
    estimated = node.get("Plan Rows", 0) * max(node.get("Actual Loops", 1), 1)
    bigger, smaller = max(actual, estimated), max(min(actual, estimated), 1)
    if bigger < conf.PLAN_MIN_ROWS or bigger / smaller < conf.ROW_ESTIMATE_FACTOR:
        return None
    return (
        "plan_misestimate",
        f"planner estimated {estimated:,.0f} rows, got {actual:,.0f} "
        f"({bigger / smaller:,.0f}x off): stale or too coarse statistics",
        {"estimated_rows": estimated, "actual_rows": actual},
        Fix(
            sql=f"ANALYZE {node['Relation Name']};"
            if node.get("Relation Name")
            else "-- ANALYZE the tables involved; consider CREATE STATISTICS for correlated columns"
        ),
    )


def _sort_spill(n: PlanNode, table_rows, conf):
    node = n.node
    if node.get("Node Type") not in ("Sort", "Incremental Sort") or not (
        node.get("Sort Space Type") == "Disk" or "external" in node.get("Sort Method", "")
    ):
        return None
    return (
        "plan_spill",
        f"sort spilled to disk ({node.get('Sort Method')}, {node.get('Sort Space Used')} kB)",
        {"sort_method": node.get("Sort Method"), "space_kb": node.get("Sort Space Used")},
        Fix(sql="-- raise work_mem for this query, or serve the order from an index"),
    )


def _hash_spill(n: PlanNode, table_rows, conf):
    node = n.node
    batches = max(node.get("Hash Batches", 1), node.get("Original Hash Batches", 1))
    if node.get("Node Type") != "Hash" or batches <= 1:
        return None
    return (
        "plan_spill",
        f"hash spilled to disk in {node.get('Hash Batches')} batches",
        {"hash_batches": node.get("Hash Batches"), "peak_memory_kb": node.get("Peak Memory Usage")},
        Fix(sql="-- raise work_mem (or hash_mem_multiplier) for this query"),
    )


def _heap_fetches(n: PlanNode, table_rows, conf: PerfauditSettings):
    node, actual = n.node, n.actual_total_rows()
    if node.get("Node Type") != "Index Only Scan" or not actual:
        return None
    fetches = node.get("Heap Fetches", 0)
    if fetches < conf.PLAN_MIN_ROWS or fetches / actual < conf.HEAP_FETCH_RATIO:
        return None
    return (
        "plan_heap_fetches",
        f"index-only scan visited the heap {fetches:,} times for {actual:,.0f} "
        "rows: the visibility map is stale",
        {"heap_fetches": fetches, "actual_rows": actual},
        Fix(sql=f"VACUUM {node.get('Relation Name', '')};"),
    )


def _filter_discard(n: PlanNode, table_rows, conf: PerfauditSettings):
    node, actual = n.node, n.actual_total_rows()
    scans = ("Index Scan", "Bitmap Heap Scan", "Index Only Scan")
    if node.get("Node Type") not in scans or actual is None:
        return None
    loops = max(node.get("Actual Loops", 1), 1)
    removed = (
        node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
    ) * loops
    if removed < conf.PLAN_MIN_ROWS or removed < conf.FILTER_DISCARD_FACTOR * max(actual, 1):
        return None
    return (
        "plan_filter_discard",
        f"the filter threw away {removed:,.0f} of {removed + actual:,.0f} rows "
        f"the index returned ({node.get('Filter') or node.get('Recheck Cond')})",
        {"rows_removed": removed, "actual_rows": actual, "filter": node.get("Filter")},
        Fix(
            sql="-- add the filtered column to the index (after the equality "
            "columns) or make it a partial index"
        ),
    )


#: Each check: (kind, message, evidence, fix) for a node, or None. Every finding is a warning.
CHECKS = (_seq_scan, _misestimate, _sort_spill, _hash_spill, _heap_fetches, _filter_discard)


def diagnose(
    plan: dict, *, table_rows: dict[str, int], conf: PerfauditSettings, statement: str = ""
) -> list[Finding]:
    """``plan`` is the top "Plan" object; ``table_rows`` the planner row counts per table."""
    findings = []
    for n in walk(plan):
        for check in CHECKS:
            found = check(n, table_rows, conf)
            if found is None:
                continue
            kind, message, evidence, fix = found
            findings.append(
                Finding(
                    kind=kind,
                    severity="warning",
                    table=n.node.get("Relation Name"),
                    object=n.label,
                    message=message,
                    evidence={"node": n.number, "statement": statement[:200], **evidence},
                    fix=fix,
                )
            )
    return findings
