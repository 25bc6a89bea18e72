"""Transaction-ID (and multixact-ID) age: how close each table is to the wraparound stop.

PostgreSQL's IDs are 32-bit and compared modulo 2^31: before a table's oldest unfrozen ID is
2^31 transactions old, every row must be frozen by VACUUM, or the server stops assigning new
IDs (it refuses writes 3 million transactions before wraparound, PostgreSQL 14+). A table's age
is the older of itself and its TOAST table, as autovacuum counts it. What keeps VACUUM from
freezing is usually a long-lived snapshot: an old transaction, a prepared transaction or a
replication slot's xmin; the snapshot lists them.
"""

from __future__ import annotations

from perfaudit.snapshots.wraparound import (
    TableAge,
    WraparoundSelection,
    WraparoundSnapshot,
    XminHolder,
)

# Every table of this database, system catalogs included (they need freezing too); the age is
# the older of the table and its TOAST table, as autovacuum counts it.
_TABLES_SQL = """
SELECT n.nspname, c.relname,
       greatest(age(c.relfrozenxid), age(t.relfrozenxid)),
       greatest(mxid_age(c.relminmxid), mxid_age(t.relminmxid)),
       pg_total_relation_size(c.oid),
       coalesce('autovacuum_enabled=false' = ANY(c.reloptions), false)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
WHERE c.relkind IN ('r', 'm') AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
  AND (%(table)s::text IS NULL OR c.relname = %(table)s::text)
  AND (%(min_age)s::bigint IS NULL
       OR greatest(age(c.relfrozenxid), age(t.relfrozenxid)) >= %(min_age)s::bigint
       OR greatest(mxid_age(c.relminmxid), mxid_age(t.relminmxid)) >= %(min_age)s::bigint)
ORDER BY 3 DESC, 4 DESC, 1, 2
LIMIT %(limit)s
"""

_HOLDERS_SQL = """
SELECT 'backend', pid::text, age(backend_xmin),
       concat_ws(' ', state, 'for', (now() - xact_start)::text, left(query, 200))
FROM pg_stat_activity WHERE backend_xmin IS NOT NULL AND pid <> pg_backend_pid()
UNION ALL
SELECT 'prepared', gid, age(transaction), concat('prepared ', prepared::text, ' by ', owner)
FROM pg_prepared_xacts
UNION ALL
SELECT 'replication_slot', slot_name::text,
       greatest(age(xmin), age(catalog_xmin)), concat_ws(' ', slot_type, 'active:', active::text)
FROM pg_replication_slots WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL
ORDER BY 3 DESC
LIMIT 10
"""


def collect(connection, selection: WraparoundSelection) -> WraparoundSnapshot:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT datname, age(datfrozenxid), mxid_age(datminmxid),
                   current_setting('autovacuum_freeze_max_age')::bigint,
                   current_setting('autovacuum')::bool
            FROM pg_database WHERE datname = current_database()
            """
        )
        database, xid_age, mxid_age, freeze_max_age, autovacuum_on = cursor.fetchone()
        cursor.execute(
            _TABLES_SQL,
            {"min_age": selection.min_age, "table": selection.table, "limit": selection.limit},
        )
        tables = tuple(TableAge(*row) for row in cursor.fetchall())
        cursor.execute(_HOLDERS_SQL)
        holders = tuple(XminHolder(*row) for row in cursor.fetchall())
    return WraparoundSnapshot(
        database, xid_age, mxid_age, freeze_max_age, autovacuum_on, tables, holders, selection
    )
