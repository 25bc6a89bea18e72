"""Where a plan spends its time: each node's own share, its buffers, and the filter hint.

Pure functions over an EXPLAIN (FORMAT JSON) document, numbered like perfaudit.snapshots.plans.walk
(depth-first from 1), for the EXPLAIN page and the ``explain`` command.

A node's *own* time is its total time (``Actual Total Time`` x ``Actual Loops``) minus its
children's: what the node itself did. Shares are of the statement's execution time. Without
ANALYZE there are no times, so the shares are of the planner's cost instead (and say so).
Parallel workers and CTEs make the subtraction approximate (PostgreSQL reports per-worker
averages; a CTE's time is counted where it is scanned); it is clamped at zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from perfaudit.snapshots.plans import walk

#: EXPLAIN (BUFFERS) keys per node, in the order the page lists them.
BUFFER_KEYS = (
    ("Shared Hit Blocks", "shared hit"),
    ("Shared Read Blocks", "shared read"),
    ("Shared Dirtied Blocks", "shared dirtied"),
    ("Shared Written Blocks", "shared written"),
    ("Local Hit Blocks", "local hit"),
    ("Local Read Blocks", "local read"),
    ("Temp Read Blocks", "temp read"),
    ("Temp Written Blocks", "temp written"),
)
SCANS = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Tid Scan"}
#: A scan whose filter discards at least this many rows per row kept gets the hint.
FILTER_HINT_FACTOR = 10
#: ... and at least this many rows in all (a filter on a 20-row table is not a problem).
FILTER_HINT_MIN_ROWS = 100


@dataclass(frozen=True)
class NodeTime:
    number: int
    #: The node's own time in ms (ANALYZE), or its own cost (plain EXPLAIN).
    own: float
    #: own / the statement's total, 0..100.
    share: float
    #: "time" with ANALYZE, "cost" without.
    basis: str


def _total_time(node: dict) -> float:
    return float(node.get("Actual Total Time", 0.0)) * max(int(node.get("Actual Loops", 1)), 1)


def node_times(document: dict) -> dict[int, NodeTime]:
    plan = document["Plan"]
    analyzed = "Actual Total Time" in plan
    if analyzed:
        whole = float(document.get("Execution Time") or _total_time(plan))

        def total(node):
            return _total_time(node)
    else:
        whole = float(plan.get("Total Cost", 0.0))

        def total(node):
            return float(node.get("Total Cost", 0.0))

    times = {}
    for item in walk(plan):
        own = total(item.node) - sum(total(child) for child in item.node.get("Plans", []))
        own = max(own, 0.0)
        share = min(100.0, own * 100.0 / whole) if whole > 0 else 0.0
        times[item.number] = NodeTime(item.number, own, share, "time" if analyzed else "cost")
    return times


def node_buffers(node: dict) -> list[tuple[str, int]]:
    """(label, blocks) for the buffer counters EXPLAIN (BUFFERS) reported, zeros left out."""
    return [(label, node[key]) for key, label in BUFFER_KEYS if node.get(key)]


def filter_hint(node: dict) -> str | None:
    """For a scan that reads many rows to keep few: what would let it read only the matches."""
    if node.get("Node Type") not in SCANS or "Rows Removed by Filter" not in node:
        return None
    loops = max(int(node.get("Actual Loops", 1)), 1)
    removed = int(node["Rows Removed by Filter"]) * loops
    kept = int(node.get("Actual Rows", 0)) * loops
    if removed < FILTER_HINT_MIN_ROWS or removed < FILTER_HINT_FACTOR * max(kept, 1):
        return None
    read = removed + kept
    where = node.get("Filter", "the filter")
    if node.get("Node Type") == "Seq Scan":
        action = (
            f"an index on {node.get('Relation Name', 'the table')} whose leading columns are "
            "the filter's equality columns (then range columns) would read only the matching rows"
        )
    else:
        action = (
            "the index finds the rows but the filter is checked row by row: add the filtered "
            "column to the index (after the equality columns), or make it a partial index"
        )
    return (
        f"Read {read:,} rows to keep {kept:,} ({removed * 100 / read:.1f} % discarded by "
        f"{where}): {action}."
    )


def timing(document: dict) -> dict[str, float | None]:
    """Planning and execution time (ms) of the whole statement; None when not measured."""
    return {
        "planning_ms": document.get("Planning Time"),
        "execution_ms": document.get("Execution Time"),
    }
