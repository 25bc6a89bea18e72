"""pg_stat_user_tables: writes, tuples, vacuum/analyze times, sizes and the scan mix."""

from __future__ import annotations

from perfaudit.catalog import server
from perfaudit.snapshots.tables import TableSelection, TableSnapshot, TableStats


def list_table_stats(connection, *, table: str | None = None) -> list[TableStats]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.schemaname, s.relname, s.n_tup_ins, s.n_tup_upd, s.n_tup_hot_upd,
                   s.n_tup_del, s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze,
                   coalesce(s.seq_scan, 0), coalesce(s.seq_tup_read, 0),
                   coalesce(s.idx_scan, 0),
                   pg_total_relation_size(s.relid), pg_relation_size(s.relid),
                   s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
                   coalesce('autovacuum_enabled=false' = ANY(c.reloptions), false)
                       OR NOT current_setting('autovacuum')::bool
            FROM pg_stat_user_tables s
            JOIN pg_class c ON c.oid = s.relid
            WHERE s.schemaname = ANY(current_schemas(false))
              AND (%(table)s::text IS NULL OR s.relname = %(table)s::text)
            ORDER BY pg_total_relation_size(s.relid) DESC, s.relname
            """,
            {"table": table},
        )
        return [TableStats(*row) for row in cursor.fetchall()]


def collect(connection, selection: TableSelection) -> TableSnapshot:
    return TableSnapshot(
        server=server.server_info(connection),
        tables=list_table_stats(connection, table=selection.table),
        selection=selection,
    )
