"""pg_stat_statements: status of the extension, and its entries for the current database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from perfaudit.catalog import server


@dataclass(frozen=True)
class StatementsStatus:
    available: bool  # the server has the extension's files
    installed: bool  # CREATE EXTENSION done in this database
    preloaded: bool  # in shared_preload_libraries (needed to collect anything)
    stats_reset: dt.datetime | None = None
    deallocations: int | None = None

    @property
    def usable(self) -> bool:
        return self.installed and self.preloaded

    def how_to_enable(self) -> str:
        steps = []
        if not self.available:
            steps.append("install the PostgreSQL contrib package on the server")
        if not self.preloaded:
            steps.append(
                "set shared_preload_libraries = 'pg_stat_statements' in postgresql.conf "
                "and restart PostgreSQL"
            )
        if not self.installed:
            steps.append("run CREATE EXTENSION pg_stat_statements; in this database")
        return "; then ".join(steps)


@dataclass(frozen=True)
class Statement:
    queryid: int
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    max_ms: float
    rows: int
    shared_hit: int
    shared_read: int

    @property
    def hit_ratio(self) -> float | None:
        total = self.shared_hit + self.shared_read
        return self.shared_hit / total if total else None


def statements_status(connection) -> StatementsStatus:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT EXISTS (SELECT 1 FROM pg_available_extensions
                           WHERE name = 'pg_stat_statements'),
                   EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'),
                   'pg_stat_statements' = ANY(string_to_array(
                       replace(current_setting('shared_preload_libraries'), ' ', ''), ','))
            """
        )
        available, installed, preloaded = cursor.fetchone()
        stats_reset = deallocations = None
        if installed and preloaded:
            # pg_stat_statements_info exists from extension version 1.9 (PostgreSQL 14).
            cursor.execute("SELECT to_regclass('pg_stat_statements_info') IS NOT NULL")
            if cursor.fetchone()[0]:
                cursor.execute("SELECT stats_reset, dealloc FROM pg_stat_statements_info")
                stats_reset, deallocations = cursor.fetchone()
    return StatementsStatus(available, installed, preloaded, stats_reset, deallocations)


_ORDER = {"total": "total_exec_time", "mean": "mean_exec_time", "calls": "calls"}


def list_statements(
    connection, *, min_mean_ms: float, min_calls: int, order: str, limit: int
) -> list[Statement]:
    order_column = _ORDER[order]  # a fixed whitelist, never user text
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT queryid, query, calls, total_exec_time, mean_exec_time, max_exec_time, rows,
                   shared_blks_hit, shared_blks_read
            FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND mean_exec_time >= %s AND calls >= %s
            ORDER BY {order_column} DESC
            LIMIT %s
            """,
            [min_mean_ms, min_calls, limit],
        )
        return [Statement(*row) for row in cursor.fetchall()]


def reset_statements(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_statements_reset(0, "
            "(SELECT oid FROM pg_database WHERE datname = current_database()), 0)"
        )


@dataclass(frozen=True)
class StatementsSnapshot:
    server: server.ServerInfo
    status: StatementsStatus
    #: Empty when the extension is not usable (nothing to read).
    statements: list[Statement] = field(default_factory=list)


def collect(
    connection,
    *,
    min_mean_ms: float = 0.0,
    min_calls: int = 1,
    order: str = "total",
    limit: int = 20,
) -> StatementsSnapshot:
    status = statements_status(connection)
    rows = []
    if status.usable:
        rows = list_statements(
            connection, min_mean_ms=min_mean_ms, min_calls=min_calls, order=order, limit=limit
        )
    return StatementsSnapshot(server=server.server_info(connection), status=status, statements=rows)
