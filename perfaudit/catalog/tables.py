"""pg_stat_user_tables: writes, tuples, vacuum/analyze times, sizes and the scan mix."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from perfaudit.catalog import server


@dataclass(frozen=True)
class TableStats:
    schema: str
    table: str
    inserts: int
    updates: int
    hot_updates: int
    deletes: int
    live_tuples: int
    dead_tuples: int
    modified_since_analyze: int
    seq_scans: int
    seq_tuples_read: int
    index_scans: int
    total_bytes: int
    table_bytes: int
    last_vacuum: dt.datetime | None
    last_autovacuum: dt.datetime | None
    last_analyze: dt.datetime | None
    last_autoanalyze: dt.datetime | None
    #: autovacuum off for this table (reloption) or for the whole server.
    autovacuum_disabled: bool = False

    @property
    def dead_ratio(self) -> float:
        total = self.live_tuples + self.dead_tuples
        return self.dead_tuples / total if total else 0.0

    @property
    def last_vacuumed(self) -> dt.datetime | None:
        return max((d for d in (self.last_vacuum, self.last_autovacuum) if d), default=None)

    @property
    def last_analyzed(self) -> dt.datetime | None:
        return max((d for d in (self.last_analyze, self.last_autoanalyze) if d), default=None)


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


@dataclass(frozen=True)
class TableSnapshot:
    server: server.ServerInfo
    table: str | None
    tables: list[TableStats]


def collect(connection, *, table: str | None = None) -> TableSnapshot:
    return TableSnapshot(
        server=server.server_info(connection),
        table=table,
        tables=list_table_stats(connection, table=table),
    )
