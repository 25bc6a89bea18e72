"""capturestats: collect the counters -> deltas since the previous capture (pure) -> plan the
top statements (sandbox) -> store in bulk -> prune. One capture is a handful of statements on
each database, whatever the number of tables and statements (benchmarks/history.py)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, replace

from django.db import DatabaseError
from django.utils import timezone

from perfaudit import origin
from perfaudit.catalog import history as catalog
from perfaudit.conf import get_settings
from perfaudit.errors import ServiceError, one_line
from perfaudit.history import deltas as compute
from perfaudit.history import plans, read, store
from perfaudit.history.windows import parse_moment
from perfaudit.rules import changes as changes_rules
from perfaudit.rules.changes import Change
from perfaudit.services.base import get_connection
from perfaudit.snapshots.history import ChangesSelection, HistorySelection


@dataclass(frozen=True)
class CaptureResult:
    capture_id: int
    taken_at: dt.datetime
    database: str
    history_database: str
    first: bool
    restarted: bool
    statements: int
    relations: int
    plans: int
    pruned: int
    duration_ms: float

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {
            "taken_at": self.taken_at.isoformat()
        }


def _classify(db: str, snapshot, conf) -> dict[int, str]:
    """The origin of new texts, at most HISTORY_CLASSIFY_PER_CAPTURE of them (parsing costs
    ~0.1-0.5 ms a text: 5,000 at once would take seconds); then, within the same budget, of
    texts earlier captures left unclassified (updated in place)."""
    budget = conf.HISTORY_CLASSIFY_PER_CAPTURE
    prefixes = tuple(conf.PROFILER_TABLE_PREFIXES)
    # At least half the budget for the texts left pending, so that a steady trickle of new
    # statements cannot keep them waiting forever.
    pending = store.pending_texts(db, limit=max(budget // 2, budget - len(snapshot.texts)))
    new = list(snapshot.texts.items())[: budget - len(pending)]
    origins = {q: origin.classify(t, profiler_prefixes=prefixes) for q, t in new}
    store.set_origins(
        db, {q: origin.classify(t, profiler_prefixes=prefixes) for q, t in pending.items()}
    )
    return origins


def _top_texts(db, snapshot, deltas, limit: int, origins: dict[int, str]) -> dict[int, str]:
    """The texts of the statements that took the most time since the previous capture and
    can be planned (a single query of the application)."""
    ranked = sorted(deltas.statements, key=lambda item: -item[1][1])[: limit * 3]
    wanted = [queryid for queryid, _d in ranked]
    known = store.texts(db, [q for q in wanted if q not in snapshot.texts])
    chosen = {}
    for queryid in wanted:
        if queryid in snapshot.texts:
            text, kind = snapshot.texts[queryid], origins.get(queryid, "")
        elif queryid in known:
            text, kind = known[queryid]
        else:
            continue
        if plans.plannable(text, kind):
            chosen[queryid] = text
        if len(chosen) >= limit:
            break
    return chosen


def capture_stats(
    *, using: str = "default", keep_days: float | None = None, plan_statements: int | None = None
) -> CaptureResult:
    """Take one capture of ``using`` into the history database, then prune captures older
    than ``keep_days`` (PERFAUDIT["HISTORY_KEEP_DAYS"] by default)."""
    conf = get_settings()
    keep_days = conf.HISTORY_KEEP_DAYS if keep_days is None else keep_days
    limit = conf.HISTORY_PLAN_STATEMENTS if plan_statements is None else plan_statements
    if keep_days <= 0:
        raise ServiceError(f"keep must be more than 0 days, not {keep_days:g}")
    started = time.perf_counter()
    connection = get_connection(using)
    db = store.history_alias(using)
    get_connection(db)
    try:
        known = store.known_queryids(db)
        selection = HistorySelection(known_queryids=known, relations=False)
        snapshot = catalog.collect(connection, selection)
        previous = store.previous_capture(db, snapshot.server.database)
        baseline = previous.baseline if previous else None
        every = conf.HISTORY_RELATIONS_SECONDS
        if compute.relations_due(baseline, snapshot.server.now, every):
            snapshot = replace(
                snapshot, relations=catalog.relation_counters(connection), relations_sampled=True
            )
        deltas = compute.compute(snapshot, baseline)
        origins = _classify(db, snapshot, conf)
        shapes = plans.take_plans(connection, _top_texts(db, snapshot, deltas, limit, origins))
        written = store.save(
            db,
            snapshot,
            deltas,
            baseline=compute.baseline_of(snapshot, baseline),
            previous=previous,
            origins=origins,
            plans=shapes,
            duration_ms=(time.perf_counter() - started) * 1000,
            with_relations=snapshot.relations_sampled,
        )
        pruned = store.prune(db, before=snapshot.server.now - dt.timedelta(days=keep_days))
    except DatabaseError as exc:
        raise ServiceError(f"capture failed: {one_line(exc)}") from None
    duration = (time.perf_counter() - started) * 1000
    return CaptureResult(
        capture_id=written.capture.pk,
        taken_at=written.capture.taken_at,
        database=snapshot.server.database,
        history_database=db,
        first=previous is None,
        restarted=deltas.restarted,
        statements=written.statements,
        relations=written.relations,
        plans=len(shapes),
        pruned=pruned,
        duration_ms=duration,
    )


@dataclass(frozen=True)
class ChangesReport:
    history_database: str
    database: str | None
    selection: ChangesSelection
    captures_before: int
    captures_after: int
    changes: list[Change]

    def to_dict(self) -> dict:
        return {
            "history_database": self.history_database,
            "database": self.database,
            "before": {
                "start": self.selection.before_start.isoformat(),
                "end": self.selection.split.isoformat(),
                "captures": self.captures_before,
            },
            "after": {
                "start": self.selection.split.isoformat(),
                "end": self.selection.after_end.isoformat(),
                "captures": self.captures_after,
            },
            "changes": [c.to_dict() for c in self.changes],
        }

    def of_kinds(self, kinds) -> list[Change]:
        return [c for c in self.changes if c.kind in kinds]


def perf_changes(
    *, using: str = "default", since: str | None = None, between: tuple[str, str] | None = None
) -> ChangesReport:
    """What changed after a moment: ``since`` (a duration ago or a date/time; default 24h), or
    ``between`` (A, B): the captures after the moment against every kept capture before it.
    Bad times are a ServiceError naming the option."""
    conf = get_settings()
    db = store.history_alias(using)
    get_connection(db)
    now = timezone.now()
    try:
        if between:
            split = parse_moment(between[0], now=now)
            end = parse_moment(between[1], now=now)
            if end <= split:
                raise ValueError(f"--between: {between[1]!r} is not after {between[0]!r}")
        else:
            split, end = parse_moment(since or "24h", now=now), now
    except ValueError as exc:
        raise ServiceError(str(exc)) from None
    database = read.latest_database(db)
    selection = ChangesSelection(
        before_start=split - dt.timedelta(days=max(conf.HISTORY_KEEP_DAYS, 1) * 10),
        split=split,
        after_end=end,
    )
    try:
        snapshot = read.changes_snapshot(db, selection, database=database)
    except DatabaseError as exc:
        raise ServiceError(f"reading history failed: {one_line(exc)}") from None
    return ChangesReport(
        history_database=db,
        database=database,
        selection=selection,
        captures_before=snapshot.captures_before,
        captures_after=snapshot.captures_after,
        changes=changes_rules.evaluate(snapshot, conf),
    )
