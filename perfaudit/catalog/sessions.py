"""Sessions: pg_stat_activity's client backends, one row each, and the one action the Sessions
page takes on them (pg_cancel_backend / pg_terminate_backend).

The signal's SQL re-checks, in the same statement, what the rules checked on the snapshot: the
same session (pid and backend_start: a pid is reused), the audited database, a client backend,
not this connection. PostgreSQL then applies its own rule: the auditing role may signal only its
own role's sessions, or any non-superuser's with pg_signal_backend.
"""

from __future__ import annotations

from perfaudit import sqltext
from perfaudit.catalog import server
from perfaudit.snapshots.sessions import Backend, SessionsSelection, SessionsSnapshot

#: Characters of each statement read (the page shows fewer).
QUERY_CHARS = 2000

_SESSIONS = """
SELECT pid, datname, usename, coalesce(nullif(application_name, ''), '(none)'),
       host(client_addr), state, wait_event_type, wait_event,
       (extract(epoch FROM backend_start) * 1000000)::bigint, query_start,
       extract(epoch FROM clock_timestamp() - query_start)::float,
       extract(epoch FROM clock_timestamp() - xact_start)::float,
       extract(epoch FROM clock_timestamp() - state_change)::float,
       left(query, %(chars)s),
       CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) ELSE '{}'::int[] END,
       pid = pg_backend_pid(), datname IS NOT DISTINCT FROM current_database(),
       count(*) OVER ()
FROM pg_stat_activity
WHERE backend_type = 'client backend'
ORDER BY state = 'idle', xact_start NULLS LAST, pid
LIMIT %(limit)s
"""

_WHERE_SAME_SESSION = """
FROM pg_stat_activity
WHERE pid = %(pid)s AND (extract(epoch FROM backend_start) * 1000000)::bigint = %(started)s
  AND datname = current_database() AND backend_type = 'client backend'
  AND pid <> pg_backend_pid()
"""
_SIGNALS = {
    "cancel": "SELECT pg_cancel_backend(pid)" + _WHERE_SAME_SESSION,
    "terminate": "SELECT pg_terminate_backend(pid)" + _WHERE_SAME_SESSION,
}


def collect(connection, selection: SessionsSelection) -> SessionsSnapshot:
    with connection.cursor() as cursor:
        # pg_stat_activity is a per-transaction snapshot: clear it to see the present.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(_SESSIONS, {"chars": QUERY_CHARS, "limit": selection.limit})
        rows = cursor.fetchall()
        cursor.execute("SELECT current_database()")
        (database,) = cursor.fetchone()
    # pg_stat_activity holds statements with their client-side bound values (Django's default):
    # a session key, a password hash. The snapshot (page, JSON, history) never keeps them.
    backends = tuple(
        Backend(*row[:13], _shown(row[13]), tuple(row[14] or ()), *row[15:17]) for row in rows
    )
    return SessionsSnapshot(
        server=server.server_info(connection),
        database=database,
        backends=backends,
        total=rows[0][17] if rows else 0,
        selection=selection,
    )


def _shown(query: str | None) -> str | None:
    return None if query is None else sqltext.without_literals(query)


def signal(connection, *, action: str, pid: int, started_us: int) -> bool | None:
    """pg_cancel_backend / pg_terminate_backend on that very session: True when PostgreSQL
    sent the signal, False when it did not, None when no such session is there any more."""
    with connection.cursor() as cursor:
        cursor.execute(_SIGNALS[action], {"pid": pid, "started": started_us})
        row = cursor.fetchone()
    return None if row is None else bool(row[0])
