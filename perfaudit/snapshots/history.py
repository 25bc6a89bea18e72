"""History: one capture's cumulative counters (what ``capturestats`` reads), the shape of a
plan (what ``perfchanges`` compares), and a window of stored history (what the change rules
judge).

Counters are cumulative, as PostgreSQL keeps them; perfaudit.history.deltas turns two captures
into per-interval numbers (a reset or a restart between them detected, never negative).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from perfaudit.snapshots.base import Record, Snapshot
from perfaudit.snapshots.plans import walk
from perfaudit.snapshots.server import DatabaseStats, ServerInfo

#: The per-statement counters, in the order the baseline stores them.
COUNTERS = (
    "calls",
    "total_ms",
    "rows",
    "shared_hit",
    "shared_read",
    "local_hit",
    "local_read",
    "temp_read",
    "temp_written",
    "wal_bytes",
)


@dataclass(frozen=True)
class StatementCounters(Record):
    """One pg_stat_statements entry of this database (summed over users and nesting levels)."""

    queryid: int
    calls: int
    total_ms: float
    rows: int
    shared_hit: int
    shared_read: int
    local_hit: int
    local_read: int
    temp_read: int
    temp_written: int
    wal_bytes: int

    def values(self) -> tuple:
        """The counters in COUNTERS order (spelled out: called 5,000 times a capture)."""
        return (
            self.calls,
            self.total_ms,
            self.rows,
            self.shared_hit,
            self.shared_read,
            self.local_hit,
            self.local_read,
            self.temp_read,
            self.temp_written,
            self.wal_bytes,
        )


@dataclass(frozen=True)
class RelationCounters(Record):
    """A table or an index: sizes now, scans and writes cumulative."""

    kind: str  # "table" | "index"
    schema: str
    name: str
    table: str
    size_bytes: int
    rows: int
    dead_rows: int
    scans: int
    writes: int
    last_vacuum: dt.datetime | None = None
    last_analyze: dt.datetime | None = None
    #: A unique or primary-key index: it enforces something, so it is never "unused".
    unique: bool = False

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.schema}.{self.name}"


@dataclass(frozen=True)
class HistorySelection(Record):
    #: Statements whose text history already holds: their text is not read again.
    known_queryids: frozenset[int] = frozenset()
    #: Read tables and indexes too (every HISTORY_RELATIONS_SECONDS, not every capture).
    relations: bool = True


@dataclass(frozen=True)
class HistorySnapshot(Snapshot):
    KIND = "history"

    server: ServerInfo
    started_at: dt.datetime
    statements_usable: bool
    statements_reset: dt.datetime | None
    deallocations: int | None
    database: DatabaseStats
    max_connections: int
    #: Client connections of the whole server by state (active, idle, idle in transaction...).
    connections: dict[str, int] = field(default_factory=dict)
    statements: list[StatementCounters] = field(default_factory=list)
    #: queryid -> text, for the statements not in ``selection.known_queryids``.
    texts: dict[int, str] = field(default_factory=dict)
    relations: list[RelationCounters] = field(default_factory=list)
    relations_sampled: bool = True


@dataclass(frozen=True)
class PlanShape(Record):
    """What a plan does, without its costs: (depth, node type, relation, index) per node.
    Two plans with the same shape hash read the same tables the same way."""

    nodes: tuple[tuple[int, str, str | None, str | None], ...]

    @property
    def hash(self) -> str:
        text = json.dumps(self.nodes, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def indexes(self) -> frozenset[str]:
        return frozenset(index for *_rest, index in self.nodes if index)

    @property
    def node_types(self) -> tuple[str, ...]:
        return tuple(kind for _depth, kind, _rel, _index in self.nodes)

    def lines(self) -> list[str]:
        """The shape as indented text, one node a line (the pages and the JSON show it)."""
        out = []
        for depth, kind, relation, index in self.nodes:
            text = (
                kind
                + (f" using {index}" if index else "")
                + (f" on {relation}" if relation else "")
            )
            out.append("  " * depth + text)
        return out


def plan_shape(plan: dict) -> PlanShape:
    """The shape of an EXPLAIN (FORMAT JSON) plan tree (its top "Plan" object)."""
    return PlanShape(
        tuple(
            (
                n.depth,
                n.node.get("Node Type", "?"),
                n.node.get("Relation Name"),
                n.node.get("Index Name"),
            )
            for n in walk(plan)
        )
    )


@dataclass(frozen=True)
class StatementWindow(Record):
    """One statement over one side of a comparison: summed deltas and the plans it had."""

    queryid: int
    query: str
    calls: int
    total_ms: float
    rows: int = 0
    #: The plan shape last seen in the window (None: not among the planned top statements).
    plan: PlanShape | None = None
    origin: str = "app"

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class RelationWindow(Record):
    """A table or index across the window: first and last size, scans in each half."""

    kind: str
    name: str
    table: str
    first_at: dt.datetime
    last_at: dt.datetime
    first_bytes: int
    last_bytes: int
    scans_before: int
    scans_after: int
    unique: bool = False


@dataclass(frozen=True)
class ChangesSelection(Record):
    before_start: dt.datetime
    split: dt.datetime
    after_end: dt.datetime


@dataclass(frozen=True)
class ChangesSnapshot(Snapshot):
    """Stored history around ``selection.split``: each statement before and after it, each
    relation across the whole window, and the connection peak of each side."""

    KIND = "history_changes"

    selection: ChangesSelection
    captures_before: int
    captures_after: int
    before: dict[int, StatementWindow] = field(default_factory=dict)
    after: dict[int, StatementWindow] = field(default_factory=dict)
    relations: list[RelationWindow] = field(default_factory=list)
    #: (peak client connections, when) on each side; max_connections at the last capture.
    peak_before: tuple[int, dt.datetime | None] = (0, None)
    peak_after: tuple[int, dt.datetime | None] = (0, None)
    max_connections: int = 0
