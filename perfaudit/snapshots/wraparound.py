"""Transaction-ID (and multixact-ID) age: how close each table is to the wraparound stop.

PostgreSQL's IDs are 32-bit and compared modulo 2^31: before a table's oldest unfrozen ID is
2^31 transactions old, every row must be frozen by VACUUM, or the server stops assigning new
IDs (it refuses writes 3 million transactions before wraparound, PostgreSQL 14+). What keeps
VACUUM from freezing is usually a long-lived snapshot: an old transaction, a prepared
transaction or a replication slot's xmin; the snapshot lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from perfaudit.snapshots.base import Record, Snapshot

#: (2^31 - 1) minus the 3,000,000 safety margin after which PostgreSQL 14+ refuses new IDs.
XID_STOP_AGE = 2**31 - 1 - 3_000_000


@dataclass(frozen=True)
class TableAge(Record):
    schema: str
    table: str
    xid_age: int
    mxid_age: int
    size_bytes: int
    #: autovacuum_enabled=false in the table's reloptions.
    autovacuum_disabled: bool = False

    @property
    def xids_left(self) -> int:
        return XID_STOP_AGE - self.xid_age

    @property
    def mxids_left(self) -> int:
        return XID_STOP_AGE - self.mxid_age


@dataclass(frozen=True)
class XminHolder(Record):
    """Something holding back the oldest xmin: VACUUM cannot freeze past it."""

    kind: str  # backend | prepared | replication_slot
    name: str  # pid, gid or slot name
    xmin_age: int
    detail: str = ""  # state / query / slot type


@dataclass(frozen=True)
class WraparoundSelection(Record):
    """``min_age``: only tables at least this old (the rules' lowest threshold, from
    rules.wraparound.min_age); the oldest ``limit`` either way, so a cluster with 100,000
    tables costs one bounded query."""

    table: str | None = None
    min_age: int | None = None
    limit: int = 50


@dataclass(frozen=True)
class WraparoundSnapshot(Snapshot):
    KIND = "wraparound"

    database: str
    database_xid_age: int
    database_mxid_age: int
    freeze_max_age: int  # autovacuum_freeze_max_age
    autovacuum_on: bool
    tables: tuple[TableAge, ...]
    xmin_holders: tuple[XminHolder, ...]
    selection: WraparoundSelection = field(default_factory=WraparoundSelection)

    @property
    def database_xids_left(self) -> int:
        return XID_STOP_AGE - self.database_xid_age
