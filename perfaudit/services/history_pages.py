"""The History pages' reports: charts over a time window, and one statement's drill-down.
Reads the history database only (a few aggregate queries), except the drill-down's advisor
suggestion, which plans the statement on the captured database (perfaudit.services.advisor)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import DatabaseError
from django.utils import timezone

from perfaudit.errors import ServiceError, one_line
from perfaudit.history import read, series, store
from perfaudit.history.windows import parse_duration
from perfaudit.models import CapturedStatement
from perfaudit.render import charts
from perfaudit.services.base import get_connection

#: The window selector's choices (the first is the default).
WINDOWS = ("6h", "1h", "24h", "7d", "30d")
TOP_STATEMENTS = 8
TOP_TABLES = 8


@dataclass(frozen=True)
class HistoryPage:
    window: str
    database: str | None
    captures: int
    first_at: dt.datetime | None
    last_at: dt.datetime | None
    charts: list[dict] = field(default_factory=list)
    #: (queryid, calls, total_ms, text) of the top statements in the window.
    statements: list[tuple] = field(default_factory=list)


def _window(window: str) -> tuple[str, dt.datetime, dt.datetime]:
    if window not in WINDOWS:
        window = WINDOWS[0]
    end = timezone.now()
    return window, end - parse_duration(window), end


def history_page(*, using: str = "default", window: str = WINDOWS[0], show_all: bool = False):
    db = store.history_alias(using)
    get_connection(db)
    window, start, end = _window(window)
    try:
        database = read.latest_database(db)
        points = series.capture_points(db, database=database, start=start, end=end)
        ids = [p.id for p in points]
        top = series.top_statements(db, ids, limit=TOP_STATEMENTS, show_all=show_all)
        labels = {q: charts.label(q, text) for q, _c, _t, text in top}
        samples = series.statement_points(db, ids, labels)
        drawn = [
            *charts.statement_charts(points, samples, labels),
            *charts.database_charts(points),
            charts.table_size_chart(points, series.table_sizes(db, ids, limit=TOP_TABLES)),
        ]
    except DatabaseError as exc:
        raise ServiceError(f"reading history failed: {one_line(exc)}") from None
    return HistoryPage(
        window=window,
        database=database,
        captures=len(points),
        first_at=points[0].taken_at if points else None,
        last_at=points[-1].taken_at if points else None,
        charts=drawn,
        statements=top,
    )


@dataclass(frozen=True)
class StatementPage:
    queryid: int
    query: str
    origin: str
    window: str
    charts: list[dict]
    #: Plan shapes seen, oldest first (more than one: the plan changed).
    plans: list[series.PlanSeen]
    calls: int
    total_ms: float

    @property
    def current_plan(self):
        return self.plans[-1] if self.plans else None


def statement_page(*, using: str = "default", queryid: int, window: str = WINDOWS[0]):
    db = store.history_alias(using)
    get_connection(db)
    window, start, end = _window(window)
    try:
        text = CapturedStatement.objects.using(db).filter(queryid=queryid).first()
        if text is None:
            raise ServiceError(f"no statement {queryid} in the stored history")
        database = read.latest_database(db)
        points = series.capture_points(db, database=database, start=start, end=end)
        rows = series.statement_points(db, [p.id for p in points], [queryid])[queryid]
        drawn = charts.one_statement_charts(points, rows, charts.label(queryid, text.query))
        plans = series.plans_of(db, queryid)
    except DatabaseError as exc:
        raise ServiceError(f"reading history failed: {one_line(exc)}") from None
    return StatementPage(
        queryid=queryid,
        query=text.query,
        origin=text.origin,
        window=window,
        charts=drawn,
        plans=plans,
        calls=sum(r.calls for r in rows),
        total_ms=sum(r.total_ms for r in rows),
    )
