"""Server identity, database-wide counters and planner row estimates."""

from __future__ import annotations

from perfaudit.snapshots.server import DatabaseStats, EvidenceTimes, ServerInfo


def server_info(connection) -> ServerInfo:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT current_setting('server_version'),
                   current_setting('server_version_num')::int,
                   current_database(),
                   (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
                   now()
            """
        )
        version, num, database, stats_reset, now = cursor.fetchone()
    return ServerInfo(connection.vendor, version, num, database, stats_reset, now)


def table_rows(connection, tables: list[str]) -> dict[str, int]:
    """Planner row estimates (reltuples) for tables visible on the search path."""
    if not tables:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, greatest(c.reltuples, 0)::bigint
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relname = ANY(%s) AND n.nspname = ANY(current_schemas(false))
            """,
            [list(tables)],
        )
        return dict(cursor.fetchall())


def database_stats(connection) -> DatabaseStats:
    """Size and cumulative counters of the current database (since ``stats_reset``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT pg_database_size(d.datid), d.blks_hit, d.blks_read, d.xact_commit,
                   d.xact_rollback, d.deadlocks, d.temp_bytes, d.stats_reset
            FROM pg_stat_database d
            WHERE d.datname = current_database()
            """
        )
        return DatabaseStats(*cursor.fetchone())


def evidence_times(connection) -> EvidenceTimes:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
                   pg_postmaster_start_time(), now(),
                   current_setting('server_version_num')::int,
                   to_regclass('django_migrations') IS NOT NULL
            """
        )
        stats_reset, started, now, version, has_migrations = cursor.fetchone()
        first = None
        if has_migrations:
            # The database's own age: a freshly migrated database has no history, even when
            # its statistics were "never reset".
            cursor.execute("SELECT min(applied) FROM django_migrations")
            first = cursor.fetchone()[0]
    return EvidenceTimes(stats_reset, started, first, now, version)
