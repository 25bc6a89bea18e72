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


def baseline_of(snapshot: HistorySnapshot) -> dict:
    return {
        "started_at": _text(snapshot.started_at),
        "statements_reset": _text(snapshot.statements_reset),
        "stats_reset": _text(snapshot.database.stats_reset),
        "blocks": [snapshot.database.blocks_hit, snapshot.database.blocks_read],
        "statements": [[s.queryid, *s.values()] for s in snapshot.statements],
        "relations": {r.key: [r.scans, r.writes] for r in snapshot.relations},
    }


def _delta(now: tuple, before: tuple | None) -> tuple:
    if before is None or any(n < b for n, b in zip(now, before, strict=True)):
        return now  # new, re-added after an eviction, or reset on its own: counted from zero
    return tuple(n - b for n, b in zip(now, before, strict=True))


def restarts(snapshot: HistorySnapshot, baseline: dict | None) -> tuple[bool, bool]:
    """(statement counters restarted, table counters restarted) since ``baseline``."""
    if baseline is None:
        return True, True
    server = _text(snapshot.started_at) != baseline.get("started_at")
    statements = server or _text(snapshot.statements_reset) != baseline.get("statements_reset")
    tables = server or _text(snapshot.database.stats_reset) != baseline.get("stats_reset")
    return statements, tables


def compute(snapshot: HistorySnapshot, baseline: dict | None) -> Deltas:
    """What changed since ``baseline`` (None: the first capture, which has no interval: it
    records sizes, and the counters the next capture starts from)."""
    statements_restarted, tables_restarted = restarts(snapshot, baseline)
    statements = []
    if baseline is not None:
        before = (
            {}
            if statements_restarted
            else {row[0]: tuple(row[1:]) for row in baseline["statements"]}
        )
        for s in snapshot.statements:
            delta = _delta(s.values(), before.get(s.queryid))
            if delta[0] > 0:  # calls (COUNTERS[0]): called in the interval
                statements.append((s.queryid, delta))
    relations = {}
    if baseline is not None:
        old = {} if tables_restarted else baseline["relations"]
        for r in snapshot.relations:
            relations[r.key] = _delta((r.scans, r.writes), _tuple(old.get(r.key)))
    blocks = (0, 0)
    if baseline is not None:
        now = (snapshot.database.blocks_hit, snapshot.database.blocks_read)
        blocks = _delta(now, None if tables_restarted else tuple(baseline["blocks"]))
    return Deltas(
        restarted=baseline is not None and (statements_restarted or tables_restarted),
        statements=statements,
        relations=relations,
        blocks_hit=blocks[0],
        blocks_read=blocks[1],
    )


def _tuple(value) -> tuple | None:
    return tuple(value) if value is not None else None
