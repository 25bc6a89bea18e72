"""Index and foreign-key facts from pg_index / pg_constraint, position by position.

Expressions and predicates are read as ``pg_get_expr`` output: deterministic deparsing of the
stored node trees (the raw ``indexprs::text`` cannot be compared, it embeds parse locations).
"""

from __future__ import annotations

from perfaudit.catalog import declared, server
from perfaudit.catalog.indexes.reads import (
    building_indexes,
    list_foreign_keys,
    list_indexes,
    table_exists,
    table_rows,
)
from perfaudit.snapshots.declared import DeclaredSchema
from perfaudit.snapshots.indexes import IndexSelection, IndexSnapshot

__all__ = ["collect", "list_indexes"]


def collect(connection, selection: IndexSelection) -> IndexSnapshot:
    table = selection.table
    exists = table is None or table_exists(connection, table)
    rows = table_rows(connection) if exists else {}
    return IndexSnapshot(
        server=server.server_info(connection),
        selection=selection,
        table_exists=exists,
        indexes=list_indexes(connection, table=table) if exists else [],
        foreign_keys=list_foreign_keys(connection, table=table) if exists else [],
        existing_tables=set(rows),
        table_rows=rows,
        declared=declared.read(connection, table=table) if exists else DeclaredSchema(),
        evidence=server.evidence_times(connection) if exists else None,
        building=building_indexes(connection) if exists else {},
    )
