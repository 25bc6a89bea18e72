"""The "unused" rule's evidence window: since when the scan counters have been counting."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from perfaudit.catalog.indexes import IndexSnapshot


@dataclass(frozen=True)
class EvidenceWindow:
    """Since when the scan counters have been counting, and why we think so.

    ``start`` is the latest of: the statistics reset, the first applied migration (a database
    younger than that has no history at all, whatever "stats reset: never" suggests) and, on
    PostgreSQL < 15 (which resets statistics at every restart), the server's start.
    """

    start: dt.datetime | None
    now: dt.datetime
    sources: dict = field(default_factory=dict)

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


def evidence_window(snapshot: IndexSnapshot) -> EvidenceWindow | None:
    times = snapshot.evidence
    if times is None:
        return None
    return EvidenceWindow.from_evidence(
        now=times.now,
        stats_reset=times.stats_reset,
        postmaster_start=times.postmaster_start,
        first_migration=times.first_migration,
        server_version_num=times.version_num,
    )


def _window_source(window: EvidenceWindow) -> str:
    for key, label in (
        ("stats_reset", "statistics reset"),
        ("first_migration", "first migration applied"),
        ("postmaster_start", "server start: PostgreSQL < 15 resets statistics on restart"),
    ):
        if window.sources.get(key) == window.start:
            return label
    return "unknown"
