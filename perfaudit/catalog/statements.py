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
    #: This statement's share of the total execution time of every statement of the database.
    time_share: float | None = None

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

# The share is computed over every statement of the database before any filter, so a
# statement's share does not depend on what the listing shows.
_SQL = """
WITH s AS (
    SELECT queryid, query, calls, total_exec_time, mean_exec_time, max_exec_time, rows,
           shared_blks_hit, shared_blks_read,
           total_exec_time / nullif(sum(total_exec_time) OVER (), 0) AS share
    FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
)
SELECT queryid, query, calls, total_exec_time, mean_exec_time, max_exec_time, rows,
       shared_blks_hit, shared_blks_read, share
FROM s
WHERE {where}
ORDER BY {order} DESC
LIMIT %(limit)s
"""


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
                   top.total_exec_time / nullif(total.ms, 0), total.ms
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


def candidate_statements(
    connection, *, slow_ms: float | None, min_calls: int, min_share: float | None, limit: int = 50
) -> list[Statement]:
    """Statements a slow-query rule may flag, whatever the listing's order and limit: called
    enough times, and slow or taking a large share of the total time (one slow call of a
    report, a migration or pg_sleep says nothing about the application's hot path)."""
    sql = _SQL.format(
        where="calls >= %(calls)s AND (mean_exec_time >= %(mean)s OR share >= %(share)s)",
        order="total_exec_time",
    )
    params = {
        # None turns a condition off: no mean and no share reach these.
        "mean": slow_ms if slow_ms else float("inf"),
        "calls": min_calls,
        "share": min_share if min_share else 2.0,
        "limit": limit,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [Statement(*row) for row in cursor.fetchall()]


#: At most this many statements are probed with EXPLAIN (GENERIC_PLAN) per report.
GENERIC_PLAN_PROBES = 5


def generic_plan_errors(connection, candidates, *, timeout_ms: int) -> dict[int, str]:
    """The error, if any, EXPLAIN (GENERIC_PLAN) gives on each candidate $n statement's text,
    so its printed explain command is known to run (or said not to).

    Only on PostgreSQL 16+ (GENERIC_PLAN), for at most GENERIC_PLAN_PROBES statements, in one
    rolled-back read-only transaction with a savepoint per statement: EXPLAIN without ANALYZE
    executes nothing. pg_stat_statements turns a typed literal such as ``interval '1 day'``
    into ``interval $3``, which does not parse.
    """
    from django.db import DatabaseError, transaction

    from perfaudit import sqltext
    from perfaudit.errors import one_line
    from perfaudit.sandbox import execute_one, rolled_back

    if connection.pg_version < 160000:
        return {}
    probes = [
        row
        for row in candidates
        if sqltext.has_positional_params(row.query)
        and len(sqltext.statements(row.query)) == 1
        and sqltext.first_keyword(row.query) in sqltext.EXPLAINABLE
    ][:GENERIC_PLAN_PROBES]
    if not probes:
        return {}
    result = {}
    with rolled_back(connection, timeout_ms=timeout_ms, read_only=True) as cursor:
        for row in probes:
            try:
                with transaction.atomic(using=connection.alias):
                    execute_one(cursor, f"EXPLAIN (GENERIC_PLAN) {row.query}", simple=True)
            except DatabaseError as exc:
                result[row.queryid] = one_line(exc)
    return result


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
    #: What the slow-query rules judge, whatever the listing shows (candidate_statements).
    candidates: list[Statement] = field(default_factory=list)
    #: queryid -> the error EXPLAIN (GENERIC_PLAN) gave on its normalized text (absent: fine).
    generic_plan_errors: dict[int, str] = field(default_factory=dict)

    @property
    def server_version_num(self) -> int:
        return self.server.version_num


def collect(
    connection,
    *,
    min_mean_ms: float = 0.0,
    min_calls: int = 1,
    order: str = "total",
    limit: int | None = 20,
    slow_ms: float | None = None,
    flag_min_calls: int = 1,
    min_share: float | None = None,
    probe_timeout_ms: int | None = None,
) -> StatementsSnapshot:
    """``slow_ms``/``flag_min_calls``/``min_share``: which statements the rules may flag (read
    apart from the listing). ``probe_timeout_ms``: probe their generic plans (None: don't)."""
    status = statements_status(connection)
    rows, total_ms, candidates, errors = [], 0.0, [], {}
    if status.usable:
        rows, total_ms = list_statements(
            connection, min_mean_ms=min_mean_ms, min_calls=min_calls, order=order, limit=limit
        )
        candidates = candidate_statements(
            connection, slow_ms=slow_ms, min_calls=flag_min_calls, min_share=min_share
        )
        if probe_timeout_ms:
            errors = generic_plan_errors(connection, candidates, timeout_ms=probe_timeout_ms)
    return StatementsSnapshot(
        server=server.server_info(connection),
        status=status,
        statements=rows,
        total_ms=total_ms,
        candidates=candidates,
        generic_plan_errors=errors,
    )
