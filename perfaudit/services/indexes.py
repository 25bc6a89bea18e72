"""auditindexes: collect the index catalog and the models' declarations, evaluate, report."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from perfaudit.catalog import indexes as catalog
from perfaudit.conf import get_settings
from perfaudit.errors import ServiceError
from perfaudit.findings import Report
from perfaudit.rules import indexes as rules
from perfaudit.services.base import envelope, get_connection


@dataclass(frozen=True)
class IndexListing:
    name: str
    size_bytes: int
    scans: int
    last_scan: dt.datetime | None
    valid: bool
    definition: str


@dataclass(frozen=True)
class TableIndexes:
    table: str
    rows: int
    indexes: list[IndexListing] = field(default_factory=list)


@dataclass(kw_only=True)
class IndexReport(Report):
    tables: list[TableIndexes] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"tables": [asdict(t) for t in self.tables]}


def audit_indexes(
    *, using: str = "default", table: str | None = None, min_size_mb: float | None = None
) -> IndexReport:
    connection = get_connection(using)
    snapshot = catalog.collect(connection, table=table)
    if not snapshot.table_exists:
        raise ServiceError(f"no table {table!r} on the search path")
    findings = rules.evaluate(snapshot, get_settings())
    min_bytes = (min_size_mb or 0) * 1024 * 1024
    if min_bytes:
        sizes = {(i.table, i.name): i.size_bytes for i in snapshot.indexes}
        findings = [f for f in findings if sizes.get((f.table, f.object), min_bytes) >= min_bytes]
    listing: dict[str, TableIndexes] = {}
    for index in snapshot.indexes:
        if index.size_bytes < min_bytes:
            continue
        entry = listing.setdefault(index.table, TableIndexes(index.table, index.table_rows))
        entry.indexes.append(
            IndexListing(
                name=index.name,
                size_bytes=index.size_bytes,
                scans=index.scans,
                last_scan=index.last_scan,
                valid=index.is_valid,
                definition=index.definition,
            )
        )
    return IndexReport(
        **envelope(connection, snapshot.server, findings), tables=list(listing.values())
    )
