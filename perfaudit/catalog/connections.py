"""dbconnections' reads: Django's connection setup, pg_stat_activity, the server's limits, who
blocks whom, replication on the audited database and each replica, and the pooler in front."""

from __future__ import annotations

from django.db import DatabaseError, connections

from perfaudit.catalog import locks, pooler, replication, server
from perfaudit.errors import one_line
from perfaudit.snapshots.connections import (
    ActivityGroup,
    ConnectionLimits,
    ConnectionSetup,
    ConnectionsSelection,
    ConnectionsSnapshot,
)


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
        database=settings_dict.get("NAME") or "",
    )


def _replicas(aliases: tuple[str, ...]):
    """Each replica's replication state and connection limit; an unreachable one says so."""
    states, limits = [], {}
    for alias in aliases:
        try:
            replica = connections[alias]
            states.append(replication.read(replica, alias=alias))
            limits[alias] = connection_limits(replica).available_to_apps
        except DatabaseError as exc:
            states.append(replication.unreachable(alias, one_line(exc)))
            limits[alias] = None
    return states, limits


def collect(connection, selection: ConnectionsSelection) -> ConnectionsSnapshot:
    states, limits = _replicas(selection.replicas)
    return ConnectionsSnapshot(
        server=server.server_info(connection),
        setup=_setup(connection),
        groups=activity_groups(connection),
        limits=connection_limits(connection),
        locks=locks.read(connection),
        replication=[replication.read(connection, alias=connection.alias), *states],
        replica_limits=limits,
        pooler=pooler.read(
            connection,
            transaction_pooler=selection.transaction_pooler,
            admin_url=selection.pooler_admin_url,
        ),
        selection=selection,
    )
