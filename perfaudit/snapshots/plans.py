"""One EXPLAIN: the plan document the sandbox got, its tree walked node by node, and the row
estimates of the tables it reads.

Nodes are numbered depth-first from 1: the rules' findings, the human rendering and the
timing breakdown (perfaudit.plantime) all use these numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from perfaudit.snapshots.base import Record, Snapshot


@dataclass(frozen=True)
class PlanNode(Record):
    number: int
    depth: int
    #: The node's own EXPLAIN (FORMAT JSON) object ("Node Type", "Plan Rows", "Plans", ...).
    node: dict
    #: Below a Limit: the node may stop early, so fewer actual rows than estimated is normal.
    limited: bool = False

    @property
    def label(self) -> str:
        kind = self.node.get("Node Type", "?")
        relation = self.node.get("Relation Name")
        index = self.node.get("Index Name")
        text = f"#{self.number} {kind}"
        if index:
            text += f" using {index}"
        if relation:
            text += f" on {relation}"
        return text

    def actual_total_rows(self) -> float | None:
        if "Actual Rows" not in self.node:
            return None
        return self.node["Actual Rows"] * max(self.node.get("Actual Loops", 1), 1)


def walk(plan: dict) -> Iterator[PlanNode]:
    """Every node of a plan tree (the top "Plan" object), depth-first, numbered from 1."""
    counter = 0

    def visit(node: dict, depth: int, limited: bool) -> Iterator[PlanNode]:
        nonlocal counter
        counter += 1
        yield PlanNode(counter, depth, node, limited)
        below = limited or node.get("Node Type") == "Limit"
        for child in node.get("Plans", []):
            yield from visit(child, depth + 1, below)

    yield from visit(plan, 0, False)


def relations(plan: dict) -> list[str]:
    """Relation names of every node, depth-first."""
    return [n.node["Relation Name"] for n in walk(plan) if "Relation Name" in n.node]


def index_names(plan: dict) -> frozenset[str]:
    """Every index the plan uses."""
    return frozenset(n.node["Index Name"] for n in walk(plan) if "Index Name" in n.node)


@dataclass(frozen=True)
class Explained(Record):
    """What ``sandbox.explain`` ran and got back."""

    sql: str
    #: The bound parameters, as JSON values (datetimes as ISO text).
    params: list[Any]
    generic_plan: bool
    analyze: bool
    #: EXPLAIN (FORMAT JSON)'s document: {"Plan": {...}, "Planning Time": ..., ...}.
    document: dict

    @property
    def plan(self) -> dict:
        return self.document["Plan"]

    def nodes(self) -> Iterator[PlanNode]:
        return walk(self.plan)


@dataclass(frozen=True)
class PlanSnapshot(Snapshot):
    KIND = "plan"

    explained: Explained
    #: Planner row estimates (reltuples) of the relations the plan reads.
    table_rows: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedCost(Record):
    """A plain EXPLAIN's total cost and the indexes it uses (the advisor's what-if step)."""

    cost: float
    index_names: frozenset[str]
    document: dict
