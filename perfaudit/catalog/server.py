from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerInfo:
    vendor: str
    version: str
    version_num: int
    database: str
    stats_reset: dt.datetime | None
    now: dt.datetime


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


def setting(connection, name: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [name])
        return cursor.fetchone()[0]


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
