"""What one history capture reads: pg_stat_statements' counters (texts only of statements
history does not hold yet), table and index sizes and counters, database size and block
counters, connections by state. Four statements, whatever the number of entries; every one
reads catalog views only, so the Queries page files them under perfaudit's own reads.
"""

from __future__ import annotations

from perfaudit.catalog import server
from perfaudit.catalog.statements import statements_status
from perfaudit.snapshots.history import (
    HistorySelection,
    HistorySnapshot,
    RelationCounters,
    StatementCounters,
)

# showtext => false: the texts live in a file PostgreSQL reads for every call with texts;
# counters alone are cheap at 5,000 entries. Summed per queryid (users, nesting levels).
_STATEMENTS = """
SELECT queryid, sum(calls)::bigint, sum(total_exec_time)::float, sum(rows)::bigint,
       sum(shared_blks_hit)::bigint, sum(shared_blks_read)::bigint,
       sum(local_blks_hit)::bigint, sum(local_blks_read)::bigint,
       sum(temp_blks_read)::bigint, sum(temp_blks_written)::bigint, sum(wal_bytes)::bigint
FROM pg_stat_statements(false)
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND queryid IS NOT NULL
GROUP BY queryid
"""

_TEXTS = """
SELECT DISTINCT ON (queryid) queryid, query
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND queryid = ANY(%s)
"""

_RELATIONS = """
SELECT 'table', s.schemaname, s.relname, s.relname, pg_total_relation_size(s.relid),
       s.n_live_tup, s.n_dead_tup, coalesce(s.seq_scan, 0) + coalesce(s.idx_scan, 0),
       s.n_tup_ins + s.n_tup_upd + s.n_tup_del,
       greatest(s.last_vacuum, s.last_autovacuum), greatest(s.last_analyze, s.last_autoanalyze),
       false
FROM pg_stat_user_tables s
WHERE s.schemaname = ANY(current_schemas(false))
UNION ALL
SELECT 'index', s.schemaname, s.indexrelname, s.relname, pg_relation_size(s.indexrelid),
       0, 0, coalesce(s.idx_scan, 0), 0, NULL, NULL, i.indisunique OR i.indisprimary
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
WHERE s.schemaname = ANY(current_schemas(false))
"""

_CONNECTIONS = """
SELECT coalesce(state, 'unknown'), count(*)::int,
       current_setting('max_connections')::int, pg_postmaster_start_time()
FROM pg_stat_activity
WHERE backend_type = 'client backend'
GROUP BY 1
"""


def relation_counters(connection) -> list[RelationCounters]:
    with connection.cursor() as cursor:
        cursor.execute(_RELATIONS)
        return [RelationCounters(*row) for row in cursor.fetchall()]


def _connections(cursor):
    cursor.execute(_CONNECTIONS)
    rows = cursor.fetchall()
    if not rows:  # a server with no client backend but ours cannot happen; be safe anyway
        cursor.execute("SELECT current_setting('max_connections')::int, pg_postmaster_start_time()")
        limit, started = cursor.fetchone()
        return {}, limit, started
    return {state: count for state, count, _l, _s in rows}, rows[0][2], rows[0][3]


def collect(connection, selection: HistorySelection) -> HistorySnapshot:
    status = statements_status(connection)
    statements, texts = [], {}
    with connection.cursor() as cursor:
        if status.usable:
            cursor.execute(_STATEMENTS)
            statements = [StatementCounters(*row) for row in cursor.fetchall()]
            missing = {s.queryid for s in statements} - selection.known_queryids
            if missing:
                # The new ones only (a short list: ANY of thousands known would compare each
                # entry with each); PostgreSQL still reads its text file once for this.
                cursor.execute(_TEXTS, [sorted(missing)])
                texts = dict(cursor.fetchall())
        relations = relation_counters(connection) if selection.relations else []
        connections, max_connections, started = _connections(cursor)
    return HistorySnapshot(
        server=server.server_info(connection),
        started_at=started,
        statements_usable=status.usable,
        statements_reset=status.stats_reset,
        deallocations=status.deallocations,
        database=server.database_stats(connection),
        max_connections=max_connections,
        connections=connections,
        statements=statements,
        texts=texts,
        relations=relations,
        relations_sampled=selection.relations,
    )
