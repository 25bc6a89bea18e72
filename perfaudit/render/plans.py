"""A plan document as compact text: one line per node, indented by depth (the Advisor page's
before/after plans, side by side)."""

from __future__ import annotations

from perfaudit.snapshots.plans import walk


def plan_text(document: dict) -> str:
    """``document`` is EXPLAIN (FORMAT JSON)'s object ({"Plan": {...}, ...})."""
    lines = []
    for node in walk(document["Plan"]):
        label = node.label.split(" ", 1)[1]  # without the "#n": numbers differ between plans
        cost = node.node.get("Total Cost")
        rows = node.node.get("Plan Rows")
        lines.append(f"{'  ' * node.depth}{label}  (cost={cost} rows={rows})")
        for key in ("Index Cond", "Filter", "Hash Cond", "Recheck Cond"):
            if key in node.node:
                lines.append(f"{'  ' * node.depth}  {key}: {node.node[key]}")
    return "\n".join(lines)
