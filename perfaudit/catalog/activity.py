"""pg_stat_activity and the server's connection limits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActivityGroup:
    database: str | None
    application: str
    state: str
    connections: int
    oldest_xact_seconds: float | None
    oldest_query_seconds: float | None


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int
    superuser_reserved: int
    reserved: int  # reserved_connections (PostgreSQL 16+), 0 before
    in_use: int  # client backends, all databases

    @property
    def available_to_apps(self) -> int:
        return self.max_connections - self.superuser_reserved - self.reserved


def activity_groups(connection) -> list[ActivityGroup]:
    with connection.cursor() as cursor:
        # pg_stat_activity is a per-transaction snapshot: without this, a caller inside a
        # transaction would see the sessions as they were at its first read.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            """
            SELECT datname, coalesce(nullif(application_name, ''), '(none)'),
                   coalesce(state, '(unknown)'), count(*),
                   max(extract(epoch FROM now() - xact_start))::float,
                   max(extract(epoch FROM now() - query_start))
                       FILTER (WHERE state = 'active')::float
            FROM pg_stat_activity
            WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
            GROUP BY 1, 2, 3
            ORDER BY 4 DESC, 1, 2, 3
            """
        )
        return [ActivityGroup(*row) for row in cursor.fetchall()]


def connection_limits(connection) -> ConnectionLimits:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT current_setting('max_connections')::int,
                   current_setting('superuser_reserved_connections')::int,
                   coalesce(current_setting('reserved_connections', true), '0')::int,
                   (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')
            """
        )
        return ConnectionLimits(*cursor.fetchone())
