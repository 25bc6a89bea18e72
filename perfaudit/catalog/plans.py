"""One EXPLAIN, read: the plan document (run in the sandbox) and its tables' row estimates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfaudit import sandbox
from perfaudit.catalog import server


@dataclass(frozen=True)
class PlanSnapshot:
    sql: str
    params: list[Any]
    generic_plan: bool
    analyze: bool
    #: EXPLAIN (FORMAT JSON)'s document: {"Plan": {...}, "Planning Time": ..., ...}.
    document: dict
    #: Planner row estimates (reltuples) of the relations the plan reads.
    table_rows: dict[str, int]


def relations(plan: dict) -> list[str]:
    """Relation names of every node, depth-first."""
    names = []
    stack = [plan]
    while stack:
        node = stack.pop()
        if "Relation Name" in node:
            names.append(node["Relation Name"])
        stack.extend(reversed(node.get("Plans", [])))
    return names


def collect(
    connection,
    sql: str,
    params=None,
    *,
    analyze: bool,
    buffers: bool,
    timeout_ms: int,
    cursor=None,
    read_only: bool = False,
    role: str | None = None,
) -> PlanSnapshot:
    document, generic = sandbox.explain(
        connection,
        sql,
        params,
        analyze=analyze,
        buffers=buffers,
        timeout_ms=timeout_ms,
        cursor=cursor,
        read_only=read_only,
        role=role,
    )
    return PlanSnapshot(
        sql=sql,
        params=list(params) if params else [],
        generic_plan=generic,
        analyze=analyze,
        document=document,
        table_rows=server.table_rows(connection, relations(document["Plan"])),
    )
