"""Index and foreign-key facts from pg_index / pg_constraint, position by position.

Rules compare indexes on these structured fields (attnums, opclass oids, option bits, deparsed
per-position expressions and predicates), never on the text of ``pg_get_indexdef``. Expressions
and predicates are compared as ``pg_get_expr`` output: deterministic deparsing of the stored node
trees (the raw ``indexprs::text`` cannot be compared, it embeds parse locations).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from perfaudit.catalog import declared, server
from perfaudit.catalog.indexes.reads import (
    _existing_tables,
    building_indexes,
    list_foreign_keys,
    list_indexes,
    table_exists,
)
from perfaudit.catalog.indexes.records import (
    INDOPTION_DESC,
    INDOPTION_NULLS_FIRST,
    ForeignKey,
    IndexColumn,
    IndexInfo,
)

__all__ = [
    "INDOPTION_DESC",
    "INDOPTION_NULLS_FIRST",
    "ForeignKey",
    "IndexColumn",
    "IndexInfo",
    "IndexSnapshot",
    "building_indexes",
    "collect",
    "list_foreign_keys",
    "list_indexes",
    "table_exists",
]


@dataclass(frozen=True)
class IndexSnapshot:
    """Everything ``auditindexes`` judges, read before any rule runs."""

    server: server.ServerInfo
    table: str | None
    #: False when ``table`` was given and no such relation is on the search path.
    table_exists: bool
    indexes: list[IndexInfo]
    foreign_keys: list[ForeignKey]
    #: Tables (relkind r, p) on the search path: a declared index on a missing table is
    #: ``migrate``'s business, not drift.
    existing_tables: set[str]
    declared: declared.DeclaredSchema
    #: When the scan counters could have started counting (the "unused" evidence window).
    evidence: server.EvidenceTimes | None = None
    #: Index builds running now, by index oid (pg_stat_progress_create_index).
    building: dict[int, dict] = field(default_factory=dict)

    @property
    def child_foreign_keys(self) -> list[ForeignKey]:
        """Foreign keys from the audited table(s); ``foreign_keys`` also has those pointing
        at them (their referenced index's scans are RI checks)."""
        return [fk for fk in self.foreign_keys if self.table is None or fk.table == self.table]


def collect(connection, *, table: str | None = None) -> IndexSnapshot:
    exists = table is None or table_exists(connection, table)
    return IndexSnapshot(
        server=server.server_info(connection),
        table=table,
        table_exists=exists,
        indexes=list_indexes(connection, table=table) if exists else [],
        foreign_keys=list_foreign_keys(connection, table=table) if exists else [],
        existing_tables=_existing_tables(connection) if exists else set(),
        declared=declared.collect(connection, table=table) if exists else declared.DeclaredSchema(),
        evidence=server.evidence_times(connection) if exists else None,
        building=building_indexes(connection) if exists else {},
    )
