"""What changed between two windows of history: statements slower, new or gone, plans that
changed shape, indexes no longer used, the fastest growth, connection peaks. Pure: a
ChangesSnapshot (perfaudit.history.read) and the settings in, changes out."""

from __future__ import annotations

from dataclasses import dataclass, field

from perfaudit.conf import PerfauditSettings
from perfaudit.snapshots.base import Record
from perfaudit.snapshots.history import ChangesSnapshot, RelationWindow, StatementWindow

KINDS = ("slower", "plan_changed", "new", "gone", "index_unused", "growth", "connection_peak")
SEVERITY = {
    "slower": "warning",
    "plan_changed": "warning",
    "index_unused": "warning",
    "connection_peak": "warning",
    "new": "info",
    "gone": "info",
    "growth": "info",
}


@dataclass(frozen=True)
class Change(Record):
    kind: str
    severity: str
    message: str
    #: The statement's text (statement kinds), or the table/index name.
    query: str = ""
    queryid: int | None = None
    object: str = ""
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    evidence: dict = field(default_factory=dict)


def side(window: StatementWindow | None, *, with_plan: bool = False) -> dict:
    if window is None:
        return {"calls": 0, "mean_ms": None, "total_ms": 0.0}
    out = {
        "calls": window.calls,
        "mean_ms": round(window.mean_ms, 3),
        "total_ms": round(window.total_ms, 3),
    }
    if with_plan:
        out["plan"] = window.plan.lines() if window.plan else None
        out["indexes"] = sorted(window.plan.indexes) if window.plan else []
    return out


def _statement_changes(snapshot: ChangesSnapshot, conf: PerfauditSettings) -> list[Change]:
    out = []
    min_calls = conf.CHANGES_MIN_CALLS
    app = lambda w: w.origin == "app"  # noqa: E731 (the tools' statements are not judged)
    for queryid, after in snapshot.after.items():
        before = snapshot.before.get(queryid)
        if not app(after):
            continue
        if before is None:
            if after.calls >= min_calls and snapshot.captures_before:
                out.append(_change("new", after, None, f"new statement: {after.calls} calls"))
            continue
        if before.plan and after.plan and before.plan.hash != after.plan.hash:
            out.append(_plan_change(before, after))
        if before.calls < min_calls or after.calls < min_calls or not before.mean_ms:
            continue
        ratio = after.mean_ms / before.mean_ms
        grew = after.mean_ms - before.mean_ms
        if ratio >= conf.CHANGES_SLOWER_RATIO and grew >= conf.CHANGES_SLOWER_MIN_MS:
            message = (
                f"mean {before.mean_ms:.2f} ms -> {after.mean_ms:.2f} ms "
                f"(x{ratio:.1f}, +{grew:.2f} ms a call)"
            )
            out.append(_change("slower", after, before, message, ratio=round(ratio, 2), plans=True))
    if snapshot.captures_after:
        for queryid, before in snapshot.before.items():
            if queryid not in snapshot.after and app(before) and before.calls >= min_calls:
                out.append(_change("gone", before, before, "not called since", gone=True))
    return out


def _change(kind, window, before, message, *, ratio=None, plans=False, gone=False) -> Change:
    return Change(
        kind=kind,
        severity=SEVERITY[kind],
        message=message,
        query=window.query,
        queryid=window.queryid,
        before=side(before, with_plan=plans),
        after=side(None if gone else window, with_plan=plans),
        evidence={"mean_ratio": ratio} if ratio is not None else {},
    )


def _plan_change(before: StatementWindow, after: StatementWindow) -> Change:
    stopped = sorted(before.plan.indexes - after.plan.indexes)
    started = sorted(after.plan.indexes - before.plan.indexes)
    parts = []
    if stopped:
        parts.append(f"stopped using {', '.join(stopped)}")
    if started:
        parts.append(f"started using {', '.join(started)}")
    message = "plan changed shape" + (f": {'; '.join(parts)}" if parts else "")
    return Change(
        kind="plan_changed",
        severity=SEVERITY["plan_changed"],
        message=message,
        query=after.query,
        queryid=after.queryid,
        before=side(before, with_plan=True),
        after=side(after, with_plan=True),
        evidence={
            "indexes_stopped": stopped,
            "indexes_started": started,
            "hash_before": before.plan.hash,
            "hash_after": after.plan.hash,
        },
    )


def _index_unused(snapshot: ChangesSnapshot) -> list[Change]:
    if not snapshot.captures_after:
        return []
    return [
        Change(
            kind="index_unused",
            severity=SEVERITY["index_unused"],
            message=f"{r.name} on {r.table}: {r.scans_before} scans before, none since",
            object=r.name,
            query=r.name,
            evidence={"table": r.table, "scans_before": r.scans_before, "scans_after": 0},
        )
        for r in snapshot.relations
        if r.kind == "index" and not r.unique and r.scans_before > 0 and r.scans_after == 0
    ]


def _per_day(r: RelationWindow) -> float:
    days = (r.last_at - r.first_at).total_seconds() / 86400
    return (r.last_bytes - r.first_bytes) / days if days > 0 else 0.0


def _growth(snapshot: ChangesSnapshot, conf: PerfauditSettings) -> list[Change]:
    # A rate a day from a few minutes of samples is noise (one page more, times 1,440).
    long_enough = conf.CHANGES_GROWTH_MIN_HOURS * 3600
    growing = [
        r
        for r in snapshot.relations
        if (r.last_at - r.first_at).total_seconds() >= long_enough
        and _per_day(r) >= conf.CHANGES_GROWTH_MIN_BYTES_PER_DAY
    ]
    growing.sort(key=lambda r: -_per_day(r))
    out = []
    for r in growing[: conf.CHANGES_GROWTH_TOP]:
        per_day = _per_day(r)
        evidence = {
            "kind": r.kind,
            "bytes_first": r.first_bytes,
            "bytes_last": r.last_bytes,
            "bytes_per_day": round(per_day),
        }
        message = f"{r.kind} {r.name} grows {per_day / 1048576:.1f} MiB a day"
        limit = conf.CHANGES_SIZE_LIMIT_BYTES
        if limit:
            days = max(limit - r.last_bytes, 0) / per_day
            evidence |= {"size_limit_bytes": limit, "days_until_limit": round(days, 1)}
            message += f", {days:.1f} days until {limit / 1073741824:.1f} GiB"
        out.append(
            Change(
                "growth",
                SEVERITY["growth"],
                message,
                query=r.name,
                object=r.name,
                evidence=evidence,
            )
        )
    return out


def _connections(snapshot: ChangesSnapshot, conf: PerfauditSettings) -> list[Change]:
    (before, _b_at), (after, at) = snapshot.peak_before, snapshot.peak_after
    limit = snapshot.max_connections
    near_limit = limit and after >= conf.CHANGES_CONNECTION_PEAK_RATIO * limit
    if not snapshot.captures_after or not (near_limit or (before and after >= 1.5 * before + 5)):
        return []
    return [
        Change(
            kind="connection_peak",
            severity=SEVERITY["connection_peak"] if near_limit else "info",
            message=f"peak of {after} connections (before: {before}; max_connections {limit})",
            object="connections",
            evidence={
                "peak_before": before,
                "peak_after": after,
                "at": at,
                "max_connections": limit,
            },
        )
    ]


def evaluate(snapshot: ChangesSnapshot, conf: PerfauditSettings) -> list[Change]:
    changes = [
        *_statement_changes(snapshot, conf),
        *_index_unused(snapshot),
        *_growth(snapshot, conf),
        *_connections(snapshot, conf),
    ]
    changes.sort(key=lambda c: (KINDS.index(c.kind), c.query))
    return changes
