"""Writing history: one capture in a handful of statements, and the prune.

Every sample table is written with one ``bulk_create`` (Django sends one INSERT ... SELECT
FROM UNNEST(arrays) on PostgreSQL: the same statement whatever the number of rows, planned
once), inside one transaction on the history database. The tables are perfaudit_* ones, which
perfaudit.origin files under the tools' statements: a capture never tops the Queries page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connections, transaction
from django.db.models import Exists, OuterRef

from perfaudit.conf import get_settings
from perfaudit.history.bulk import insert_columns, update_origins
from perfaudit.history.deltas import Deltas
from perfaudit.models import (
    Capture,
    CapturedPlan,
    CapturedStatement,
    RelationSample,
    StatementSample,
)
from perfaudit.snapshots.history import COUNTERS, HistorySnapshot, PlanShape


def history_alias(observed: str) -> str:
    """Where history is stored: PERFAUDIT["HISTORY_DATABASE"], else the observed database."""
    return get_settings().HISTORY_DATABASE or observed


def known_queryids(db: str) -> frozenset[int]:
    return frozenset(CapturedStatement.objects.using(db).values_list("queryid", flat=True))


def previous_capture(db: str, database: str) -> Capture | None:
    return (
        Capture.objects.using(db)
        .filter(database=database, baseline__isnull=False)
        .order_by("-taken_at")
        .first()
    )


def pending_texts(db: str, *, limit: int) -> dict[int, str]:
    """Texts stored before their origin was known (a capture classifies a bounded number)."""
    rows = CapturedStatement.objects.using(db).filter(origin="").values_list("queryid", "query")
    return dict(rows[:limit])


def set_origins(db: str, origins: dict[int, str]) -> None:
    update_origins(db, CapturedStatement, origins)


def texts(db: str, queryids) -> dict[int, tuple[str, str]]:
    """queryid -> (text, origin) of the given statements."""
    rows = CapturedStatement.objects.using(db).filter(queryid__in=list(queryids))
    return {r.queryid: (r.query, r.origin) for r in rows.only("queryid", "query", "origin")}


@dataclass(frozen=True)
class Written:
    capture: Capture
    statements: int
    relations: int


def save(
    db: str,
    snapshot: HistorySnapshot,
    deltas: Deltas,
    *,
    baseline: dict,
    previous: Capture | None,
    origins: dict[int, str],
    plans: dict[int, PlanShape],
    duration_ms: float = 0.0,
    with_relations: bool = True,
) -> Written:
    now = snapshot.server.now
    with transaction.atomic(using=db):
        with connections[db].cursor() as cursor:
            # History is worth less than a commit's wait for the disk: a crash may lose the
            # last capture, never corrupt one (SET LOCAL: this transaction only).
            cursor.execute("SET LOCAL synchronous_commit = off")
        capture = Capture.objects.using(db).create(
            taken_at=now,
            database=snapshot.server.database,
            server_version_num=snapshot.server.version_num,
            server_started=snapshot.started_at,
            seconds=(now - previous.taken_at).total_seconds() if previous else None,
            restarted=deltas.restarted,
            database_bytes=snapshot.database.size_bytes,
            blocks_hit=deltas.blocks_hit,
            blocks_read=deltas.blocks_read,
            connections=snapshot.connections,
            max_connections=snapshot.max_connections,
            baseline=baseline,
            duration_ms=duration_ms,
            relations_sampled=with_relations,
        )
        if previous is not None:
            Capture.objects.using(db).filter(pk=previous.pk).update(baseline=None)
        if snapshot.texts:
            queryids = list(snapshot.texts)
            columns = {
                "queryid": queryids,
                "query": [snapshot.texts[q] for q in queryids],
                "origin": [origins.get(q, "") for q in queryids],
                "first_seen": [now] * len(queryids),
            }
            insert_columns(db, CapturedStatement, columns, ignore_conflicts=True)
        if plans:
            CapturedPlan.objects.using(db).bulk_create(
                [
                    CapturedPlan(hash=s.hash, nodes=list(s.nodes), first_seen=now)
                    for s in plans.values()
                ],
                ignore_conflicts=True,
            )
        _samples(db, capture, deltas, plans)
        if with_relations:
            _relations(db, capture, snapshot, deltas)
    return Written(
        capture, len(deltas.statements), len(snapshot.relations) if with_relations else 0
    )


def _samples(db, capture, deltas: Deltas, plans: dict[int, PlanShape]) -> None:
    rows = deltas.statements
    columns = {"capture": [capture.pk] * len(rows), "queryid": [q for q, _d in rows]}
    for position, name in enumerate(COUNTERS):
        columns[name] = [d[position] for _q, d in rows]
    columns["plan_hash"] = [plans[q].hash if q in plans else None for q, _d in rows]
    insert_columns(db, StatementSample, columns)


def _relations(db, capture, snapshot: HistorySnapshot, deltas: Deltas) -> None:
    rows = snapshot.relations
    moved = [deltas.relations.get(r.key, (0, 0)) for r in rows]
    columns = {"capture": [capture.pk] * len(rows)}
    for name in ("kind", "schema", "name", "table", "size_bytes", "rows", "dead_rows"):
        columns[name] = [getattr(r, name) for r in rows]
    columns["scans"] = [m[0] for m in moved]
    columns["writes"] = [m[1] for m in moved]
    for name in ("last_vacuum", "last_analyze", "unique"):
        columns[name] = [getattr(r, name) for r in rows]
    insert_columns(db, RelationSample, columns)


def prune(db: str, *, before: dt.datetime) -> int:
    """Delete the captures taken before ``before`` (and what only they referenced); returns
    how many. The latest capture of each database is kept whatever its age: it holds the
    counters the next capture starts from."""
    latest = Capture.objects.using(db).filter(baseline__isnull=False).values("pk")
    old = Capture.objects.using(db).filter(taken_at__lt=before).exclude(pk__in=latest)
    _total, by_model = old.delete()  # the samples go first, in bulk (no signals on them)
    count = by_model.get(Capture._meta.label, 0)
    if not count:
        return 0
    # Texts and plans no kept sample refers to, once older than the window (a statement still
    # in pg_stat_statements but idle keeps its text for a window before it is read again).
    samples = StatementSample.objects.using(db)
    CapturedStatement.objects.using(db).filter(first_seen__lt=before).filter(
        ~Exists(samples.filter(queryid=OuterRef("queryid")))
    ).delete()
    CapturedPlan.objects.using(db).filter(first_seen__lt=before).filter(
        ~Exists(samples.filter(plan_hash=OuterRef("hash")))
    ).delete()
    return count
