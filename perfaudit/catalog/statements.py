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
    connection, *, min_mean_ms: float, min_calls: int, order: str, limit: int | None
) -> tuple[list[Statement], float]:
    """(the entries, best first; the total execution time of every entry of this database).

    ``limit=None`` reads every entry (at most ``pg_stat_statements.max``, 5,000 by default):
    the service filters tool statements out before it cuts the list to size.
    """
    order_column = _ORDER[order]  # a fixed whitelist, never user text
    with connection.cursor() as cursor:
        # One statement whatever the filters: the total comes back even when no entry passes
        # them (a row of NULLs from the LEFT JOIN).
        cursor.execute(
            f"""
            WITH here AS (
                SELECT * FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            )
            SELECT top.queryid, top.query, top.calls, top.total_exec_time, top.mean_exec_time,
                   top.max_exec_time, top.rows, top.shared_blks_hit, top.shared_blks_read,
                   total.ms
            FROM (SELECT coalesce(sum(total_exec_time), 0) AS ms FROM here) AS total
            LEFT JOIN LATERAL (
                SELECT * FROM here
                WHERE mean_exec_time >= %s AND calls >= %s
                ORDER BY {order_column} DESC
                LIMIT %s
            ) AS top ON true
            ORDER BY top.{order_column} DESC NULLS LAST
            """,
            [min_mean_ms, min_calls, limit],
        )
        rows = cursor.fetchall()
    total_ms = float(rows[0][-1]) if rows else 0.0
    return [Statement(*row[:-1]) for row in rows if row[0] is not None], total_ms


def reset_statements(connection) -> None:
    """Reset every entry: pg_stat_statements_info.stats_reset (what the pages show as "since")
    only moves on a full reset; a reset of one database's entries would leave it saying the
    statistics are older than they are. The statistics are per server, so this resets them for
    every database of the server (the confirmation says so). Superuser, or EXECUTE granted."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_statements_reset()")


@dataclass(frozen=True)
class StatementsSnapshot:
    server: server.ServerInfo
    status: StatementsStatus
    #: Empty when the extension is not usable (nothing to read).
    statements: list[Statement] = field(default_factory=list)
    #: Execution time of every entry of this database (the base of "% of total time").
    total_ms: float = 0.0


def collect(
    connection,
    *,
    min_mean_ms: float = 0.0,
    min_calls: int = 1,
    order: str = "total",
    limit: int | None = 20,
) -> StatementsSnapshot:
    status = statements_status(connection)
    rows, total_ms = [], 0.0
    if status.usable:
        rows, total_ms = list_statements(
            connection, min_mean_ms=min_mean_ms, min_calls=min_calls, order=order, limit=limit
        )
    return StatementsSnapshot(
        server=server.server_info(connection), status=status, statements=rows, total_ms=total_ms
    )
