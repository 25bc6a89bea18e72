"""profilequery's measurements: one read-only statement timed N times in the sandbox."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from perfaudit.snapshots.base import Record, Snapshot
from perfaudit.snapshots.server import ServerInfo


@dataclass(frozen=True)
class QueryProfile(Record):
    """What ``sandbox.time_query`` measured."""

    iterations: int
    rows: int
    timings_ms: list[float]
    sql: str = ""

    @property
    def ordered(self) -> list[float]:
        return sorted(self.timings_ms)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.timings_ms)

    def summary(self) -> dict:
        """The distribution, in the JSON document's key order."""
        ordered = self.ordered
        return {
            "iterations": self.iterations,
            "rows": self.rows,
            "min_ms": ordered[0],
            "median_ms": statistics.median(ordered),
            "p95_ms": ordered[max(0, round(0.95 * len(ordered)) - 1)],
            "max_ms": ordered[-1],
            "mean_ms": statistics.fmean(ordered),
            "timings_ms": self.timings_ms,
        }


@dataclass(frozen=True)
class ProfileSnapshot(Snapshot):
    KIND = "profile"

    server: ServerInfo
    sql: str
    profile: QueryProfile
