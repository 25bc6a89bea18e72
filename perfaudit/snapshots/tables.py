"""pg_stat_user_tables: writes, tuples, vacuum/analyze times, sizes and the scan mix."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from perfaudit.snapshots.base import Record, Snapshot
from perfaudit.snapshots.server import ServerInfo


@dataclass(frozen=True)
class TableStats(Record):
    schema: str
    table: str
    inserts: int
    updates: int
    hot_updates: int
    deletes: int
    live_tuples: int
    dead_tuples: int
    modified_since_analyze: int
    seq_scans: int
    seq_tuples_read: int
    index_scans: int
    total_bytes: int
    table_bytes: int
    last_vacuum: dt.datetime | None
    last_autovacuum: dt.datetime | None
    last_analyze: dt.datetime | None
    last_autoanalyze: dt.datetime | None
    #: autovacuum off for this table (reloption) or for the whole server.
    autovacuum_disabled: bool = False

    @property
    def dead_ratio(self) -> float:
        total = self.live_tuples + self.dead_tuples
        return self.dead_tuples / total if total else 0.0

    @property
    def last_vacuumed(self) -> dt.datetime | None:
        return max((d for d in (self.last_vacuum, self.last_autovacuum) if d), default=None)

    @property
    def last_analyzed(self) -> dt.datetime | None:
        return max((d for d in (self.last_analyze, self.last_autoanalyze) if d), default=None)


@dataclass(frozen=True)
class TableSelection(Record):
    table: str | None = None


@dataclass(frozen=True)
class TableSnapshot(Snapshot):
    KIND = "tables"

    server: ServerInfo
    tables: list[TableStats]
    selection: TableSelection = field(default_factory=TableSelection)

    @property
    def table(self) -> str | None:
        return self.selection.table
