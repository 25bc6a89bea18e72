"""Who blocks whom: sessions waiting for a lock, and the sessions holding it.

``pg_blocking_pids()`` (PostgreSQL 9.6+) answers from the lock manager itself, including
waits behind a queued conflicting request, which joining pg_locks on itself (PgHero's
query) misses or multiplies. It briefly takes the lock manager's partition locks, so this
runs on demand, never in a loop.
"""

from __future__ import annotations

from perfaudit.snapshots.locks import BlockedQuery, LocksSnapshot, Session

_SQL = """
WITH waiting AS (
    SELECT a.*, pg_blocking_pids(a.pid) AS blocking
    FROM pg_stat_activity a
    WHERE a.wait_event_type = 'Lock' AND a.datname = current_database()
)
SELECT w.pid, w.usename, coalesce(nullif(w.application_name, ''), '(none)'), w.state, w.query,
       extract(epoch FROM clock_timestamp() - w.query_start)::float,
       extract(epoch FROM clock_timestamp() - w.xact_start)::float,
       w.wait_event_type, w.wait_event,
       (SELECT coalesce(l.relation::regclass::text, l.locktype) FROM pg_locks l
        WHERE l.pid = w.pid AND NOT l.granted LIMIT 1),
       (SELECT l.mode FROM pg_locks l WHERE l.pid = w.pid AND NOT l.granted LIMIT 1),
       bp.pid, b.usename, coalesce(nullif(b.application_name, ''), '(none)'), b.state, b.query,
       extract(epoch FROM clock_timestamp() - b.query_start)::float,
       extract(epoch FROM clock_timestamp() - b.xact_start)::float
FROM waiting w
CROSS JOIN LATERAL unnest(w.blocking) AS bp(pid)
LEFT JOIN pg_stat_activity b ON b.pid = bp.pid
WHERE cardinality(w.blocking) > 0
ORDER BY w.query_start, w.pid, b.pid
"""


# The auditing session may itself be inside a long transaction (a test, a shell, an
# ATOMIC_REQUESTS view): pg_stat_activity is a snapshot taken at its first read in a
# transaction and kept until the end, and now() is the transaction's start. So the snapshot is
# cleared first, and durations use clock_timestamp().


def read(connection) -> LocksSnapshot:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(_SQL)
        rows = cursor.fetchall()
    by_pid: dict[int, dict] = {}
    for row in rows:
        blocked = Session(*row[0:7])
        entry = by_pid.setdefault(
            blocked.pid,
            {
                "blocked": blocked,
                "wait_event_type": row[7],
                "wait_event": row[8],
                "locked_item": row[9],
                "mode": row[10],
                "blockers": [],
            },
        )
        if row[11] is not None:
            entry["blockers"].append(Session(*row[11:18]))
    return LocksSnapshot(
        tuple(
            BlockedQuery(**{**entry, "blockers": tuple(entry["blockers"])})
            for entry in by_pid.values()
        )
    )
