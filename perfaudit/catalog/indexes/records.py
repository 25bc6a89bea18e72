"""The index and foreign-key records the catalog reads and the index rules compare."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# pg_index.indoption bits (src/include/catalog/pg_index.h).
INDOPTION_DESC = 0x0001
INDOPTION_NULLS_FIRST = 0x0002


@dataclass(frozen=True)
class IndexColumn:
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
class IndexInfo:
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
class ForeignKey:
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
