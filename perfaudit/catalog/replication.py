"""Streaming replication as one database sees it: its role, its standbys or its WAL receiver.

On a primary: one row per standby from ``pg_stat_replication`` (state, LSNs, lag in bytes and
the write/flush/replay lag times PostgreSQL measures). On a standby: ``pg_stat_wal_receiver``
plus the replay position and how old the last replayed commit is. The LSN and lag columns are
NULL unless the role is superuser or has ``pg_monitor``; ``visible`` says so.
"""

from __future__ import annotations

from perfaudit.snapshots.replication import ReplicationSnapshot, Standby, WalReceiver

STANDBYS_SQL = """
SELECT coalesce(application_name, ''), client_addr::text, state, sync_state,
       sent_lsn::text, replay_lsn::text,
       (pg_current_wal_lsn() - replay_lsn)::bigint,
       extract(epoch FROM write_lag)::float, extract(epoch FROM flush_lag)::float,
       extract(epoch FROM replay_lag)::float,
       extract(epoch FROM now() - reply_time)::float
FROM pg_stat_replication
ORDER BY application_name, client_addr
"""

RECEIVER_SQL = """
SELECT r.status, r.sender_host, r.sender_port,
       pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text,
       (pg_last_wal_receive_lsn() - pg_last_wal_replay_lsn())::bigint,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float,
       extract(epoch FROM now() - r.last_msg_receipt_time)::float,
       pg_is_wal_replay_paused()
FROM (SELECT 1) one LEFT JOIN pg_stat_wal_receiver r ON true
"""


def read(connection, *, alias: str | None = None) -> ReplicationSnapshot:
    alias = alias or connection.alias
    with connection.cursor() as cursor:
        # One round trip for the role; pg_current_wal_lsn() raises on a standby, hence the CASE.
        cursor.execute(
            "SELECT pg_is_in_recovery(), "
            "pg_has_role(current_user, 'pg_monitor', 'MEMBER') OR "
            "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
            "CASE WHEN NOT pg_is_in_recovery() THEN pg_current_wal_lsn()::text END"
        )
        in_recovery, visible, current = cursor.fetchone()
        if in_recovery:
            cursor.execute(RECEIVER_SQL)
            receiver = WalReceiver(*cursor.fetchone())
            return ReplicationSnapshot(
                alias=alias, role="standby", receiver=receiver, visible=bool(visible)
            )
        cursor.execute(STANDBYS_SQL)
        standbys = [Standby(*row) for row in cursor.fetchall()]
    return ReplicationSnapshot(
        alias=alias, role="primary", current_lsn=current, standbys=standbys, visible=bool(visible)
    )


def unreachable(alias: str, error: str) -> ReplicationSnapshot:
    return ReplicationSnapshot(alias=alias, role="unreachable", error=error)
