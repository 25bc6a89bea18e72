"""Indexes and foreign keys position by position, as ``auditindexes`` judges them.

Rules compare indexes on these structured fields (attnums, opclass oids, option bits, deparsed
per-position expressions and predicates), never on the text of ``pg_get_indexdef``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from perfaudit.snapshots.base import Record, Snapshot
from perfaudit.snapshots.declared import DeclaredSchema
from perfaudit.snapshots.server import EvidenceTimes, ServerInfo

# pg_index.indoption bits (src/include/catalog/pg_index.h).
INDOPTION_DESC = 0x0001
INDOPTION_NULLS_FIRST = 0x0002


@dataclass(frozen=True)
class IndexColumn(Record):
    attnum: int  # 0 for an expression
    name: str  # column name, or the deparsed expression
    opclass: int
    opclass_name: str
    collation: int
    option: int
    avg_width: int | None = None  # pg_stats, for the bloat estimate

    @property
    def descending(self) -> bool:
        return bool(self.option & INDOPTION_DESC)

    @property
    def signature(self) -> tuple:
        return (
            self.attnum,
            self.name if self.attnum == 0 else "",
            self.opclass,
            self.collation,
            self.option,
        )


@dataclass(frozen=True)
class IndexInfo(Record):
    schema: str
    table: str
    name: str
    method: str
    columns: tuple[IndexColumn, ...]  # key columns, in order
    include: tuple[str, ...] = ()
    is_primary: bool = False
    is_unique: bool = False
    is_valid: bool = True
    is_ready: bool = True
    constraint: str | None = None  # name of the PK / UNIQUE / EXCLUDE constraint it backs
    predicate: str | None = None
    definition: str = ""
    size_bytes: int = 0
    scans: int = 0
    last_scan: dt.datetime | None = None  # PostgreSQL 16+
    relpages: int = 0
    reltuples: float = 0
    table_rows: int = 0
    table_scans: int = 0
    oid: int = 0
    #: A unique index with NULLS NOT DISTINCT (PostgreSQL 15+).
    nulls_not_distinct: bool = False

    @property
    def key_signature(self) -> tuple:
        return tuple(c.signature for c in self.columns)

    @property
    def protected(self) -> bool:
        """Never proposed for dropping: it enforces something."""
        return self.is_primary or self.is_unique or self.constraint is not None

    @property
    def column_list(self) -> str:
        return ", ".join(c.name + (" DESC" if c.descending else "") for c in self.columns)


@dataclass(frozen=True)
class ForeignKey(Record):
    schema: str
    table: str
    name: str
    columns: tuple[int, ...]
    column_names: tuple[str, ...]
    referenced_table: str
    table_rows: int = 0
    extra: dict = field(default_factory=dict)
    #: The unique index on the referenced table that PostgreSQL's RI checks scan.
    referenced_index: str | None = None


@dataclass(frozen=True)
class IndexSelection(Record):
    """Which indexes ``auditindexes`` audits: one table or all, and the smallest worth showing
    (errors are shown whatever their size)."""

    table: str | None = None
    min_size_bytes: int = 0


@dataclass(frozen=True)
class IndexSnapshot(Snapshot):
    """Everything ``auditindexes`` judges, read before any rule runs."""

    KIND = "indexes"

    server: ServerInfo
    #: False when the selected table is not on the search path.
    table_exists: bool
    indexes: list[IndexInfo]
    foreign_keys: list[ForeignKey]
    #: Tables (relkind r, p) on the search path: a declared index on a missing table is
    #: ``migrate``'s business, not drift.
    existing_tables: set[str]
    declared: DeclaredSchema
    #: When the scan counters could have started counting (the "unused" evidence window).
    evidence: EvidenceTimes | None = None
    #: Index builds running now, by index oid: their pg_stat_progress_create_index row (pid,
    #: command, phase, blocks_done, blocks_total).
    building: dict[int, dict] = field(default_factory=dict)
    selection: IndexSelection = field(default_factory=IndexSelection)
    #: Estimated rows of each existing table (pg_class.reltuples), for severities by size.
    table_rows: dict[str, int] = field(default_factory=dict)

    @property
    def table(self) -> str | None:
        return self.selection.table

    @property
    def child_foreign_keys(self) -> list[ForeignKey]:
        """Foreign keys from the audited table(s); ``foreign_keys`` also has those pointing
        at them (their referenced index's scans are RI checks)."""
        return [fk for fk in self.foreign_keys if self.table is None or fk.table == self.table]

    @property
    def listed(self) -> list[IndexInfo]:
        """The indexes the report lists: those at least ``selection.min_size_bytes`` big."""
        return [i for i in self.indexes if i.size_bytes >= self.selection.min_size_bytes]
