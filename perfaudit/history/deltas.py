"""From two captures' cumulative counters to what happened between them. Pure.

PostgreSQL's counters only grow, except when they start again: pg_stat_statements_reset()
(pg_stat_statements_info.stats_reset moves), a server restart (pg_postmaster_start_time()
moves; statistics may be lost with it), an entry evicted and re-added (dealloc), or
pg_stat_reset() for tables (pg_stat_database.stats_reset moves). Any of those, or a counter
lower than before, means "counting from zero since then": the delta is the current value,
never a negative number. What ran between the last capture and the reset is lost; PostgreSQL
kept no record of it.

The baseline is the JSON the latest capture keeps for the next one: cumulative counters by
statement and relation, and the reset markers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from perfaudit.snapshots.history import HistorySnapshot


@dataclass(frozen=True)
class Deltas:
    #: The previous capture's counters could not be used: first capture, or counting restarted.
    restarted: bool
    #: (queryid, deltas in COUNTERS order) for statements called since the previous capture.
    statements: list[tuple[int, tuple]]
    #: relation key -> (scans, writes) since the previous capture.
    relations: dict[str, tuple[int, int]]
    blocks_hit: int
    blocks_read: int


def _text(value) -> str | None:
    return value.isoformat() if value is not None else None


def baseline_of(snapshot: HistorySnapshot, previous: dict | None = None) -> dict:
    """The counters the next capture starts from. Tables and indexes are sampled less often
    than statements (HISTORY_RELATIONS_SECONDS): between two samples their part is carried
    over, with the markers of the sample it was taken at."""
    relations = (previous or {}).get("relations")
    if snapshot.relations_sampled:
        relations = {
            "at": _text(snapshot.server.now),
            "started_at": _text(snapshot.started_at),
            "stats_reset": _text(snapshot.database.stats_reset),
            "counters": {r.key: [r.scans, r.writes] for r in snapshot.relations},
        }
    return {
        "started_at": _text(snapshot.started_at),
        "statements_reset": _text(snapshot.statements_reset),
        "stats_reset": _text(snapshot.database.stats_reset),
        "blocks": [snapshot.database.blocks_hit, snapshot.database.blocks_read],
        "statements": [[s.queryid, *s.values()] for s in snapshot.statements],
        "relations": relations,
    }


def relations_due(baseline: dict | None, now: dt.datetime, every_seconds: float) -> bool:
    """Whether this capture samples tables and indexes (the first one always does)."""
    at = ((baseline or {}).get("relations") or {}).get("at")
    return at is None or (now - dt.datetime.fromisoformat(at)).total_seconds() >= every_seconds


def _delta(now: tuple, before: tuple | None) -> tuple:
    if before is None or any(n < b for n, b in zip(now, before, strict=True)):
        return now  # new, re-added after an eviction, or reset on its own: counted from zero
    return tuple(n - b for n, b in zip(now, before, strict=True))


def _moved(snapshot: HistorySnapshot, markers: dict | None, statements_reset: bool) -> bool:
    """Counting restarted since ``markers`` (a baseline, or its relations part)."""
    if markers is None:
        return True
    if _text(snapshot.started_at) != markers.get("started_at"):
        return True
    if statements_reset:
        return _text(snapshot.statements_reset) != markers.get("statements_reset")
    return _text(snapshot.database.stats_reset) != markers.get("stats_reset")


def compute(snapshot: HistorySnapshot, baseline: dict | None) -> Deltas:
    """What changed since ``baseline`` (None: the first capture, which has no interval: it
    records sizes, and the counters the next capture starts from)."""
    if baseline is None:
        return Deltas(False, [], {}, 0, 0)
    statements_restarted = _moved(snapshot, baseline, True)
    tables_restarted = _moved(snapshot, baseline, False)
    before = (
        {} if statements_restarted else {row[0]: tuple(row[1:]) for row in baseline["statements"]}
    )
    statements = []
    for s in snapshot.statements:
        previous = before.get(s.queryid)
        if previous is not None and s.calls == previous[0]:
            continue  # not called in the interval: most entries, most captures
        delta = _delta(s.values(), previous)
        if delta[0] > 0:  # calls (COUNTERS[0]): called in the interval
            statements.append((s.queryid, delta))
    relations = {}
    if snapshot.relations_sampled:
        part = baseline.get("relations")
        old = {} if _moved(snapshot, part, False) else part["counters"]
        for r in snapshot.relations:
            relations[r.key] = _delta((r.scans, r.writes), _tuple(old.get(r.key)))
    now = (snapshot.database.blocks_hit, snapshot.database.blocks_read)
    blocks = _delta(now, None if tables_restarted else tuple(baseline["blocks"]))
    return Deltas(
        restarted=statements_restarted or tables_restarted,
        statements=statements,
        relations=relations,
        blocks_hit=blocks[0],
        blocks_read=blocks[1],
    )


def _tuple(value) -> tuple | None:
    return tuple(value) if value is not None else None
