"""Chart data for the History pages, as the chart partial wants it
(templates/admin/perfaudit/_chart.html): ``{"id", "title", "unit", "series": [{"name",
"points": [[unix_seconds, value or None], ...]}]}``. Pure: stored history in, dicts out.

A point belongs to the capture that ends its interval; a statement not called in an interval
has no sample there, and its point is None (a gap), except for calls/s, which is a true 0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CapturePoint:
    id: int
    taken_at: dt.datetime
    #: Seconds since the previous capture (None: the first, which has no interval).
    seconds: float | None
    database_bytes: int = 0
    blocks_hit: int = 0
    blocks_read: int = 0
    connections: dict = field(default_factory=dict)
    #: Execution time of every statement in the interval (the base of "share of time").
    total_ms: float = 0.0

    @property
    def at(self) -> float:
        # Milliseconds kept: captures a second apart (tests, a tight --every) stay apart.
        return round(self.taken_at.timestamp(), 3)


@dataclass(frozen=True)
class StatementPoint:
    capture_id: int
    calls: int
    total_ms: float


def chart(chart_id: str, title: str, unit: str, series: list[dict]) -> dict:
    return {"id": chart_id, "title": title, "unit": unit, "series": series}


def label(queryid: int, text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return (flat if len(flat) <= width else flat[: width - 1] + "…") + f" [{queryid}]"


def _intervals(captures: list[CapturePoint]) -> list[CapturePoint]:
    return [c for c in captures if c.seconds]


def statement_charts(
    captures: list[CapturePoint], samples: dict[int, list[StatementPoint]], labels: dict[int, str]
) -> list[dict]:
    """Calls per second, mean time and share of the database's time, one series a statement."""
    points = _intervals(captures)
    calls, mean, share = [], [], []
    for queryid, rows in samples.items():
        by_capture = {r.capture_id: r for r in rows}
        name = labels.get(queryid, str(queryid))
        c_pts, m_pts, s_pts = [], [], []
        for c in points:
            r = by_capture.get(c.id)
            c_pts.append([c.at, round(r.calls / c.seconds, 3) if r else 0.0])
            m_pts.append([c.at, round(r.total_ms / r.calls, 3) if r and r.calls else None])
            s_pts.append(
                [c.at, round(100 * r.total_ms / c.total_ms, 2) if r and c.total_ms else None]
            )
        calls.append({"name": name, "points": c_pts})
        mean.append({"name": name, "points": m_pts})
        share.append({"name": name, "points": s_pts})
    return [
        chart("chart-calls", "Calls per second", "calls/s", calls),
        chart("chart-mean", "Mean time per call", "ms", mean),
        chart("chart-share", "Share of the database's execution time", "%", share),
    ]


def database_charts(captures: list[CapturePoint]) -> list[dict]:
    """Database size, connections by state, and the cache hit ratio of each interval."""
    size = [[c.at, c.database_bytes] for c in captures]
    states = sorted({s for c in captures for s in c.connections})
    connections = [
        {"name": state, "points": [[c.at, c.connections.get(state, 0)] for c in captures]}
        for state in states
    ]
    hit = []
    for c in _intervals(captures):
        total = c.blocks_hit + c.blocks_read
        hit.append([c.at, round(100 * c.blocks_hit / total, 2) if total else None])
    return [
        chart(
            "chart-database-size", "Database size", "bytes", [{"name": "database", "points": size}]
        ),
        chart("chart-connections", "Connections by state", "connections", connections),
        chart("chart-cache-hit", "Cache hit ratio", "%", [{"name": "cache hit", "points": hit}]),
    ]


def table_size_chart(captures: list[CapturePoint], sizes: dict[str, dict[int, int]]) -> dict:
    """``sizes``: table -> capture id -> bytes (tables and their indexes, TOAST included)."""
    # Only the captures that sampled tables (HISTORY_RELATIONS_SECONDS): no gaps between them.
    series = [
        {"name": name, "points": [[c.at, by_capture[c.id]] for c in captures if c.id in by_capture]}
        for name, by_capture in sizes.items()
    ]
    return chart("chart-table-sizes", "Table sizes (largest)", "bytes", series)


def one_statement_charts(
    captures: list[CapturePoint], rows: list[StatementPoint], name: str
) -> list[dict]:
    """The drill-down: one statement's calls/s, mean time and share of time."""
    charts = statement_charts(captures, {0: rows}, {0: name})
    for c in charts:
        c["id"] = c["id"].replace("chart-", "chart-statement-")
    return charts
