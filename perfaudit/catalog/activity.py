"""pg_stat_activity, the server's connection limits and Django's connection setup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perfaudit.catalog import locks, server
from perfaudit.catalog.locks import LocksSnapshot


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


@dataclass(frozen=True)
class ConnectionSetup:
    """How Django connects (settings.DATABASES[alias]), and this process's pool, if any."""

    alias: str
    conn_max_age: Any
    conn_health_checks: Any
    #: The OPTIONS["pool"] value: a dict of pool options, True, or False/None.
    pool_options: Any
    #: Stats of this process's pool only: each worker process has its own.
    pool_stats: dict | None

    @property
    def pool(self) -> dict | bool:
        """The pool's options, or whether a pool is on (OPTIONS["pool"] = True)."""
        return self.pool_options if isinstance(self.pool_options, dict) else bool(self.pool_options)


@dataclass(frozen=True)
class ConnectionsSnapshot:
    server: server.ServerInfo
    setup: ConnectionSetup
    groups: list[ActivityGroup]
    limits: ConnectionLimits
    #: Sessions waiting for a lock and who holds it (perfaudit.catalog.locks).
    locks: LocksSnapshot = field(default_factory=lambda: LocksSnapshot(()))


def _setup(connection) -> ConnectionSetup:
    settings_dict = connection.settings_dict
    pool_options = (settings_dict.get("OPTIONS") or {}).get("pool")
    pool_stats = None
    if pool_options:
        pool = connection.pool
        pool_stats = pool.get_stats() if pool is not None else None
    return ConnectionSetup(
        alias=connection.alias,
        conn_max_age=settings_dict.get("CONN_MAX_AGE"),
        conn_health_checks=settings_dict.get("CONN_HEALTH_CHECKS"),
        pool_options=pool_options,
        pool_stats=pool_stats,
    )


def collect(connection) -> ConnectionsSnapshot:
    setup = _setup(connection)
    return ConnectionsSnapshot(
        server=server.server_info(connection),
        setup=setup,
        groups=activity_groups(connection),
        limits=connection_limits(connection),
        locks=locks.collect(connection),
    )
