"""Time series for the History pages: a few aggregate queries on the history database per page,
whatever the number of captures, turned into perfaudit.render.charts' inputs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max, Sum

from perfaudit.history.read import captures as captures_in
from perfaudit.models import CapturedPlan, CapturedStatement, RelationSample, StatementSample
from perfaudit.render.charts import CapturePoint, StatementPoint
from perfaudit.snapshots.history import PlanShape


def capture_points(db: str, *, database: str | None, start: dt.datetime, end: dt.datetime):
    rows = list(
        captures_in(db, database=database, start=start, end=end).values_list(
            "pk",
            "taken_at",
            "seconds",
            "database_bytes",
            "blocks_hit",
            "blocks_read",
            "connections",
        )
    )
    totals = dict(
        StatementSample.objects.using(db)
        .filter(capture_id__in=[r[0] for r in rows])
        .values("capture_id")
        .annotate(ms=Sum("total_ms"))
        .values_list("capture_id", "ms")
    )
    return [CapturePoint(*row, total_ms=totals.get(row[0], 0.0)) for row in rows]


def top_statements(db: str, capture_ids: list[int], *, limit: int, show_all: bool = False):
    """(queryid, calls, total_ms, text) of the statements with the most time in the captures:
    the application's, or every origin with ``show_all``."""
    samples = StatementSample.objects.using(db).filter(capture_id__in=capture_ids)
    if not show_all:
        app = CapturedStatement.objects.using(db).filter(origin="app").values("queryid")
        samples = samples.filter(queryid__in=app)
    top = list(
        samples.values("queryid")
        .annotate(calls=Sum("calls"), total_ms=Sum("total_ms"))
        .order_by("-total_ms")[:limit]
    )
    texts = dict(
        CapturedStatement.objects.using(db)
        .filter(queryid__in=[t["queryid"] for t in top])
        .values_list("queryid", "query")
    )
    return [(t["queryid"], t["calls"], t["total_ms"], texts.get(t["queryid"], "")) for t in top]


def statement_points(db: str, capture_ids: list[int], queryids) -> dict[int, list[StatementPoint]]:
    out = {q: [] for q in queryids}
    rows = (
        StatementSample.objects.using(db)
        .filter(capture_id__in=capture_ids, queryid__in=list(queryids))
        .values_list("queryid", "capture_id", "calls", "total_ms")
    )
    for queryid, capture_id, calls, total_ms in rows:
        out[queryid].append(StatementPoint(capture_id, calls, total_ms))
    return out


def table_sizes(db: str, capture_ids: list[int], *, limit: int) -> dict[str, dict[int, int]]:
    tables = RelationSample.objects.using(db).filter(capture_id__in=capture_ids, kind="table")
    largest = [
        row["name"]
        for row in tables.values("name").annotate(size=Max("size_bytes")).order_by("-size")[:limit]
    ]
    out = {name: {} for name in largest}
    for name, capture_id, size in tables.filter(name__in=largest).values_list(
        "name", "capture_id", "size_bytes"
    ):
        out[name][capture_id] = size
    return out


@dataclass(frozen=True)
class PlanSeen:
    shape: PlanShape
    first_seen: dt.datetime
    last_seen: dt.datetime
    captures: int


def plans_of(db: str, queryid: int) -> list[PlanSeen]:
    """Every plan shape kept for the statement, oldest first: its plan changes."""
    rows = list(
        StatementSample.objects.using(db)
        .filter(queryid=queryid, plan_hash__isnull=False)
        .order_by("capture__taken_at")
        .values_list("plan_hash", "capture__taken_at")
    )
    shapes = {
        p.hash: PlanShape(tuple(tuple(n) for n in p.nodes))
        for p in CapturedPlan.objects.using(db).filter(hash__in={h for h, _ in rows})
    }
    seen: dict[str, list] = {}
    for plan_hash, taken_at in rows:
        entry = seen.setdefault(plan_hash, [taken_at, taken_at, 0])
        entry[1], entry[2] = taken_at, entry[2] + 1
    return [
        PlanSeen(shapes[h], first, last, count)
        for h, (first, last, count) in sorted(seen.items(), key=lambda kv: kv[1][0])
        if h in shapes
    ]
