"""profilequery's measurements: one read-only statement timed N times in the sandbox."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from perfaudit import sandbox
from perfaudit.catalog import server


@dataclass(frozen=True)
class QueryProfile:
    iterations: int
    rows: int
    timings_ms: list[float]

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
class ProfileSnapshot:
    server: server.ServerInfo
    sql: str
    profile: QueryProfile


def collect(
    connection, sql: str, *, iterations: int, timeout_ms: int, on_iteration=None, role=None
) -> ProfileSnapshot:
    timings, rows = sandbox.time_query(
        connection,
        sql,
        iterations=iterations,
        timeout_ms=timeout_ms,
        on_iteration=on_iteration,
        role=role,
    )
    return ProfileSnapshot(
        server=server.server_info(connection),
        sql=sql,
        profile=QueryProfile(iterations=iterations, rows=rows, timings_ms=timings),
    )
