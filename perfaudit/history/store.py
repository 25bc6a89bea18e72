"""Writing history: one capture in a handful of statements, and the prune.

Every sample table is written with one ``bulk_create`` (Django sends one INSERT ... SELECT
FROM UNNEST(arrays) on PostgreSQL: the same statement whatever the number of rows, planned
once), inside one transaction on the history database. The tables are perfaudit_* ones, which
perfaudit.origin files under the tools' statements: a capture never tops the Queries page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef

from perfaudit.conf import get_settings
from perfaudit.history.deltas import Deltas
from perfaudit.models import (
    Capture,
    CapturedPlan,
    CapturedStatement,
    RelationSample,
    StatementSample,
)
from perfaudit.snapshots.history import HistorySnapshot, PlanShape


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
) -> Written:
    now = snapshot.server.now
    with transaction.atomic(using=db):
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
        )
        if previous is not None:
            Capture.objects.using(db).filter(pk=previous.pk).update(baseline=None)
        if snapshot.texts:
            CapturedStatement.objects.using(db).bulk_create(
                [
                    CapturedStatement(
                        queryid=q, query=t, origin=origins.get(q, "app"), first_seen=now
                    )
                    for q, t in snapshot.texts.items()
                ],
                ignore_conflicts=True,
            )
        if plans:
            CapturedPlan.objects.using(db).bulk_create(
                [
                    CapturedPlan(hash=s.hash, nodes=list(s.nodes), first_seen=now)
                    for s in plans.values()
                ],
                ignore_conflicts=True,
            )
        StatementSample.objects.using(db).bulk_create(
            [
                StatementSample(
                    capture=capture,
                    queryid=queryid,
                    calls=d[0],
                    total_ms=d[1],
                    rows=d[2],
                    shared_hit=d[3],
                    shared_read=d[4],
                    local_hit=d[5],
                    local_read=d[6],
                    temp_read=d[7],
                    temp_written=d[8],
                    wal_bytes=d[9],
                    plan_hash=plans[queryid].hash if queryid in plans else None,
                )
                for queryid, d in deltas.statements
            ]
        )
        RelationSample.objects.using(db).bulk_create(
            [_relation(capture, r, deltas.relations.get(r.key, (0, 0))) for r in snapshot.relations]
        )
    return Written(capture, len(deltas.statements), len(snapshot.relations))


def _relation(capture, r, scans_writes) -> RelationSample:
    return RelationSample(
        capture=capture,
        kind=r.kind,
        schema=r.schema,
        name=r.name,
        table=r.table,
        size_bytes=r.size_bytes,
        rows=r.rows,
        dead_rows=r.dead_rows,
        scans=scans_writes[0],
        writes=scans_writes[1],
        last_vacuum=r.last_vacuum,
        last_analyze=r.last_analyze,
        unique=r.unique,
    )


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
