"""pg_stat_statements: status of the extension, and its entries for the current database.

Each entry is tagged with its origin (perfaudit.origin: the application, or a tool around it),
so the selection can list the application's statements and count the rest.
"""

from __future__ import annotations

from dataclasses import replace

from perfaudit import origin
from perfaudit.catalog import server
from perfaudit.snapshots.statements import (
    Flaggable,
    HiddenGroup,
    Statement,
    StatementsSelection,
    StatementsSnapshot,
    StatementsStatus,
)


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


def candidate_statements(connection, flaggable: Flaggable) -> list[Statement]:
    """Statements a slow-query rule may flag, whatever the listing's order and limit: called
    enough times, and slow or taking a large share of the total time (one slow call of a
    report, a migration or pg_sleep says nothing about the application's hot path)."""
    sql = _SQL.format(
        where="calls >= %(calls)s AND (mean_exec_time >= %(mean)s OR share >= %(share)s)",
        order="total_exec_time",
    )
    params = {
        # None turns a condition off: no mean and no share reach these.
        "mean": flaggable.min_mean_ms if flaggable.min_mean_ms else float("inf"),
        "calls": flaggable.min_calls,
        "share": flaggable.min_share if flaggable.min_share else 2.0,
        "limit": flaggable.limit,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [Statement(*row) for row in cursor.fetchall()]


def reset_statements(connection) -> None:
    """Reset every entry: pg_stat_statements_info.stats_reset (what the pages show as "since")
    only moves on a full reset; a reset of one database's entries would leave it saying the
    statistics are older than they are. The statistics are per server, so this resets them for
    every database of the server (the confirmation says so). Superuser, or EXECUTE granted."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_statements_reset()")


def _tagged(rows: list[Statement], prefixes: tuple[str, ...]) -> list[Statement]:
    return [replace(r, origin=origin.classify(r.query, profiler_prefixes=prefixes)) for r in rows]


def _listing(rows: list[Statement], selection: StatementsSelection):
    """The rows the selection lists (the application's, or all), cut to its limit, and what
    it leaves out, counted by origin."""
    shown, hidden = [], {}
    for row in rows:
        if origin.visible(row.origin, show_all=selection.show_all):
            if selection.limit is None or len(shown) < selection.limit:
                shown.append(row)
        else:
            count, total = hidden.get(row.origin, (0, 0.0))
            hidden[row.origin] = (count + 1, total + row.total_ms)
    groups = [
        HiddenGroup(kind, origin.LABELS[kind], *hidden[kind])
        for kind in origin.ORIGINS
        if kind in hidden
    ]
    return shown, groups


def collect(connection, selection: StatementsSelection) -> StatementsSnapshot:
    """The listing and the entries the rules judge (``selection.flaggable``), read apart."""
    status = statements_status(connection)
    shown, hidden, total_ms, candidates = [], [], 0.0, []
    if status.usable:
        # Every entry (at most pg_stat_statements.max): the tools' statements are left out
        # before the list is cut to its limit, so the default view still shows ``limit`` rows.
        rows, total_ms = list_statements(
            connection,
            min_mean_ms=selection.min_mean_ms,
            min_calls=selection.min_calls,
            order=selection.order,
            limit=None,
        )
        prefixes = selection.profiler_prefixes
        shown, hidden = _listing(_tagged(rows, prefixes), selection)
        candidates = _tagged(candidate_statements(connection, selection.flaggable), prefixes)
    return StatementsSnapshot(
        server=server.server_info(connection),
        status=status,
        statements=shown,
        total_ms=total_ms,
        candidates=candidates,
        hidden=hidden,
        selection=selection,
    )
