"""Reading history: a window around a split into a ChangesSnapshot (what the change rules
judge), and the time series the charts draw. A few aggregate queries each, whatever the number
of captures; the history database is read with ``using=``."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, Sum

from perfaudit.models import (
    Capture,
    CapturedPlan,
    CapturedStatement,
    RelationSample,
    StatementSample,
)
from perfaudit.snapshots.history import (
    ChangesSelection,
    ChangesSnapshot,
    PlanShape,
    RelationWindow,
    StatementWindow,
)


def captures(db: str, *, database: str | None, start: dt.datetime, end: dt.datetime):
    """The captures taken in (start, end], oldest first."""
    qs = Capture.objects.using(db).filter(taken_at__gt=start, taken_at__lte=end)
    if database:
        qs = qs.filter(database=database)
    return qs.order_by("taken_at")


def latest_database(db: str) -> str | None:
    last = Capture.objects.using(db).order_by("-taken_at").values_list("database", flat=True)
    return last.first()


def _side(db: str, capture_ids: list[int]) -> dict[int, StatementWindow]:
    sums = (
        StatementSample.objects.using(db)
        .filter(capture_id__in=capture_ids)
        .values("queryid")
        .annotate(calls=Sum("calls"), total_ms=Sum("total_ms"), rows=Sum("rows"))
    )
    # The last plan taken in the window, per statement (ordered: later rows win).
    last_plan = dict(
        StatementSample.objects.using(db)
        .filter(capture_id__in=capture_ids, plan_hash__isnull=False)
        .order_by("capture__taken_at")
        .values_list("queryid", "plan_hash")
    )
    return {
        row["queryid"]: StatementWindow(
            queryid=row["queryid"],
            query="",
            calls=row["calls"],
            total_ms=row["total_ms"],
            rows=row["rows"],
            plan=last_plan.get(row["queryid"]),
        )
        for row in sums
    }


def _with_texts(db: str, sides: list[dict[int, StatementWindow]]) -> None:
    ids = {q for side in sides for q in side}
    texts = {
        s.queryid: (s.query, s.origin)
        for s in CapturedStatement.objects.using(db).filter(queryid__in=ids)
    }
    hashes = {w.plan for side in sides for w in side.values() if w.plan}
    shapes = {
        p.hash: PlanShape(tuple(tuple(n) for n in p.nodes))
        for p in CapturedPlan.objects.using(db).filter(hash__in=hashes)
    }
    for side in sides:
        for queryid, window in side.items():
            text, kind = texts.get(queryid, (f"(queryid {queryid})", "app"))
            side[queryid] = StatementWindow(
                **{
                    **window.__dict__,
                    "query": text,
                    "origin": kind,
                    "plan": shapes.get(window.plan),
                }
            )


def _relations(db: str, before_ids: list[int], after_ids: list[int]) -> list[RelationWindow]:
    every = before_ids + after_ids
    if not every:
        return []
    first, last = every[0], every[-1]
    ends = {}
    for r in (
        RelationSample.objects.using(db)
        .filter(capture_id__in={first, last})
        .select_related("capture")
    ):
        ends.setdefault((r.kind, r.schema, r.name), {})[r.capture_id] = r
    scans = {
        (row["kind"], row["schema"], row["name"]): row
        for row in RelationSample.objects.using(db)
        .filter(capture_id__in=every)
        .values("kind", "schema", "name")
        .annotate(
            before=Sum("scans", filter=Q(capture_id__in=before_ids)),
            after=Sum("scans", filter=Q(capture_id__in=after_ids)),
        )
    }
    windows = []
    for key, by_capture in ends.items():
        start, end = by_capture.get(first), by_capture.get(last)
        if start is None or end is None:
            continue  # created or dropped inside the window
        counts = scans.get(key, {})
        windows.append(
            RelationWindow(
                kind=end.kind,
                name=end.name,
                table=end.table,
                first_at=start.capture.taken_at,
                last_at=end.capture.taken_at,
                first_bytes=start.size_bytes,
                last_bytes=end.size_bytes,
                scans_before=counts.get("before") or 0,
                scans_after=counts.get("after") or 0,
                unique=end.unique,
            )
        )
    return windows


def _peak(rows) -> tuple[int, dt.datetime | None]:
    best = (0, None)
    for connections, taken_at in rows:
        total = sum(connections.values())
        if total > best[0]:
            best = (total, taken_at)
    return best


def changes_snapshot(
    db: str, selection: ChangesSelection, *, database: str | None
) -> ChangesSnapshot:
    """History before and after ``selection.split``; the first capture of the whole window
    is only the starting point of the counters (its own deltas happened before the window)."""
    rows = list(
        captures(
            db, database=database, start=selection.before_start, end=selection.after_end
        ).values_list("pk", "taken_at", "connections", "max_connections", "relations_sampled")
    )
    before = [r for r in rows if r[1] <= selection.split]
    after = [r for r in rows if r[1] > selection.split]
    before_ids, after_ids = [r[0] for r in before], [r[0] for r in after]
    sides = [_side(db, before_ids), _side(db, after_ids)]
    _with_texts(db, sides)
    return ChangesSnapshot(
        selection=selection,
        captures_before=len(before),
        captures_after=len(after),
        before=sides[0],
        after=sides[1],
        # Tables and indexes: the captures that sampled them (every HISTORY_RELATIONS_SECONDS).
        relations=_relations(db, [r[0] for r in before if r[4]], [r[0] for r in after if r[4]]),
        peak_before=_peak((r[2], r[1]) for r in before),
        peak_after=_peak((r[2], r[1]) for r in after),
        max_connections=rows[-1][3] if rows else 0,
    )
