"""The catalog queries: indexes position by position, foreign keys both ways, index builds
running now, and which tables exist on the search path."""

from __future__ import annotations

import datetime as dt
import json

from perfaudit.snapshots.indexes import ForeignKey, IndexColumn, IndexInfo

_INDEX_SQL = """
SELECT n.nspname, t.relname, i.relname, am.amname,
       x.indnkeyatts, string_to_array(x.indkey::text, ' ')::int2[],
       string_to_array(x.indclass::text, ' ')::oid[],
       string_to_array(x.indcollation::text, ' ')::oid[],
       string_to_array(x.indoption::text, ' ')::int2[],
       ARRAY(SELECT pg_get_indexdef(x.indexrelid, k.ord::int, false)
             FROM generate_series(1, x.indnatts) AS k(ord) ORDER BY k.ord),
       ARRAY(SELECT coalesce(o.opcname, '')
             FROM unnest(string_to_array(x.indclass::text, ' ')::oid[]) WITH ORDINALITY
                  AS k(opc, ord)
             LEFT JOIN pg_opclass o ON o.oid = k.opc ORDER BY k.ord),
       ARRAY(SELECT s.avg_width
             FROM unnest(string_to_array(x.indkey::text, ' ')::int2[]) WITH ORDINALITY
                  AS k(attnum, ord)
             LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
             LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = t.relname
                                 AND s.attname = a.attname
             ORDER BY k.ord),
       x.indisprimary, x.indisunique, x.indisvalid, x.indisready,
       c.conname, pg_get_expr(x.indpred, x.indrelid), pg_get_indexdef(x.indexrelid),
       pg_relation_size(i.oid), coalesce(s.idx_scan, 0), i.relpages, i.reltuples,
       greatest(t.reltuples, 0)::bigint,
       coalesce(ts.seq_scan, 0) + coalesce(ts.idx_scan, 0), i.oid, to_jsonb(s),
       coalesce((to_jsonb(x) ->> 'indnullsnotdistinct')::boolean, false)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = i.relam
LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
                          AND c.contype IN ('p', 'u', 'x')
LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = x.indexrelid
LEFT JOIN pg_stat_all_tables ts ON ts.relid = t.oid
WHERE n.nspname = ANY(current_schemas(false))
  AND t.relkind IN ('r', 'm', 'p')
  AND (%(table)s::text IS NULL OR t.relname = %(table)s::text)
ORDER BY t.relname, i.relname
"""


def list_indexes(connection, *, table: str | None = None) -> list[IndexInfo]:
    with connection.cursor() as cursor:
        cursor.execute(_INDEX_SQL, {"table": table})
        rows = cursor.fetchall()
    result = []
    for row in rows:
        (
            schema,
            tbl,
            name,
            method,
            nkey,
            indkey,
            indclass,
            collations,
            options,
            exprs,
            opcnames,
            widths,
            primary,
            unique,
            valid,
            ready,
            conname,
            predicate,
            definition,
            size,
            scans,
            relpages,
            reltuples,
            table_rows,
            table_scans,
            oid,
            stat,
            nulls_not_distinct,
        ) = row
        columns = tuple(
            IndexColumn(
                attnum=int(indkey[i]),
                name=exprs[i],
                opclass=int(indclass[i]),
                opclass_name=opcnames[i],
                collation=int(collations[i]),
                option=int(options[i]),
                avg_width=widths[i],
            )
            for i in range(nkey)
        )
        if isinstance(stat, str):  # Django loads jsonb as text
            stat = json.loads(stat)
        last_scan = (stat or {}).get("last_idx_scan")
        result.append(
            IndexInfo(
                schema=schema,
                table=tbl,
                name=name,
                method=method,
                columns=columns,
                include=tuple(exprs[nkey:]),
                is_primary=primary,
                is_unique=unique,
                is_valid=valid,
                is_ready=ready,
                constraint=conname,
                predicate=predicate,
                definition=definition,
                size_bytes=size,
                scans=scans,
                last_scan=dt.datetime.fromisoformat(last_scan) if last_scan else None,
                relpages=relpages,
                reltuples=reltuples,
                table_rows=table_rows,
                table_scans=table_scans,
                oid=oid,
                nulls_not_distinct=nulls_not_distinct,
            )
        )
    return result


def list_foreign_keys(connection, *, table: str | None = None) -> list[ForeignKey]:
    """Foreign keys from ``table`` and those pointing at it (its referenced index's scans are
    RI checks, which the unused rule discounts)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n.nspname, t.relname, c.conname, c.conkey,
                   ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                         ORDER BY k.ord),
                   r.relname, greatest(t.reltuples, 0)::bigint, ri.relname
            FROM pg_constraint c
            JOIN pg_class t ON t.oid = c.conrelid
            JOIN pg_class r ON r.oid = c.confrelid
            LEFT JOIN pg_class ri ON ri.oid = c.conindid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE c.contype = 'f' AND n.nspname = ANY(current_schemas(false))
              AND (%(table)s::text IS NULL OR t.relname = %(table)s::text
                   OR r.relname = %(table)s::text)
            ORDER BY t.relname, c.conname
            """,
            {"table": table},
        )
        return [
            ForeignKey(
                s,
                t,
                name,
                tuple(int(k) for k in conkey),
                tuple(names),
                ref,
                rows,
                referenced_index=ref_index,
            )
            for s, t, name, conkey, names, ref, rows, ref_index in cursor.fetchall()
        ]


def building_indexes(connection) -> dict[int, dict]:
    """CREATE INDEX / REINDEX builds running now, by index oid (pg_stat_progress_create_index,
    PostgreSQL 12+): an invalid index being built is not a failed one."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.index_relid, p.pid, p.command, p.phase, p.blocks_done, p.blocks_total
            FROM pg_stat_progress_create_index p
            WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
            """
        )
        return {
            oid: {
                "pid": pid,
                "command": command,
                "phase": phase,
                "blocks_done": done,
                "blocks_total": total,
            }
            for oid, pid, command, phase, done, total in cursor.fetchall()
        }


def existing_tables(connection) -> set[str]:
    return set(table_rows(connection))


def table_rows(connection) -> dict[str, int]:
    """Tables (relkind r, p) on the search path and their estimated rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, greatest(c.reltuples, 0)::bigint FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(current_schemas(false)) AND c.relkind IN ('r', 'p')"
        )
        return dict(cursor.fetchall())


def table_exists(connection, table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relname = %s AND n.nspname = ANY(current_schemas(false))
            """,
            [table],
        )
        return cursor.fetchone() is not None
