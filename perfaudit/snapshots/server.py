"""Server identity, database-wide counters, and since when the scan counters count."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from perfaudit.snapshots.base import Record


@dataclass(frozen=True)
class ServerInfo(Record):
    vendor: str
    version: str
    version_num: int
    database: str
    stats_reset: dt.datetime | None
    now: dt.datetime


@dataclass(frozen=True)
class DatabaseStats(Record):
    size_bytes: int
    blocks_hit: int
    blocks_read: int
    commits: int
    rollbacks: int
    deadlocks: int
    temp_bytes: int
    stats_reset: dt.datetime | None

    @property
    def cache_hit_ratio(self) -> float | None:
        total = self.blocks_hit + self.blocks_read
        return self.blocks_hit / total if total else None


@dataclass(frozen=True)
class EvidenceWindow(Record):
    """Since when the scan counters have been counting, and why we think so.

    ``start`` is the latest of: the statistics reset, the first applied migration (a database
    younger than that has no history at all, whatever "stats reset: never" suggests) and, on
    PostgreSQL < 15 (which resets statistics at every restart), the server's start.
    """

    start: dt.datetime | None
    now: dt.datetime
    sources: dict[str, dt.datetime | None] = field(default_factory=dict)

    @property
    def days(self) -> float | None:
        if self.start is None:
            return None
        return (self.now - self.start).total_seconds() / 86400

    @classmethod
    def from_evidence(
        cls,
        *,
        now: dt.datetime,
        stats_reset: dt.datetime | None = None,
        postmaster_start: dt.datetime | None = None,
        first_migration: dt.datetime | None = None,
        server_version_num: int = 150000,
    ) -> EvidenceWindow:
        sources = {"stats_reset": stats_reset, "first_migration": first_migration}
        if server_version_num < 150000:
            sources["postmaster_start"] = postmaster_start
        known = [v for v in sources.values() if v is not None]
        return cls(max(known) if known else None, now, sources)


@dataclass(frozen=True)
class EvidenceTimes(Record):
    """When the scan counters could have started counting."""

    stats_reset: dt.datetime | None
    postmaster_start: dt.datetime
    first_migration: dt.datetime | None
    now: dt.datetime
    version_num: int

    def window(self) -> EvidenceWindow:
        return EvidenceWindow.from_evidence(
            now=self.now,
            stats_reset=self.stats_reset,
            postmaster_start=self.postmaster_start,
            first_migration=self.first_migration,
            server_version_num=self.version_num,
        )
