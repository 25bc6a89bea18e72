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
    ready: bool = True
    unique: bool = False
    primary: bool = False
    constraint: str | None = None


@dataclass(frozen=True)
class TableIndexes:
    table: str
    rows: int
    indexes: list[IndexListing] = field(default_factory=list)


@dataclass(kw_only=True)
class IndexReport(Report):
    tables: list[TableIndexes] = field(default_factory=list)
    #: Since when the scan counters count (rules.indexes.EvidenceWindow), for "unused".
    evidence_window: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {"tables": [asdict(t) for t in self.tables], "evidence_window": self.evidence_window}


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
        # An error (an invalid index, a failed build) is never hidden by its size: a failed
        # unique build is often tiny, and exactly what CI must not miss.
        sizes = {(i.table, i.name): i.size_bytes for i in snapshot.indexes}
        findings = [
            f
            for f in findings
            if f.severity == "error" or sizes.get((f.table, f.object), min_bytes) >= min_bytes
        ]
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
                ready=index.is_ready,
                unique=index.is_unique,
                primary=index.is_primary,
                constraint=index.constraint,
            )
        )
    window = rules.evidence_window(snapshot)
    return IndexReport(
        **envelope(connection, snapshot.server, findings),
        tables=list(listing.values()),
        evidence_window={
            "start": window.start if window else None,
            "days": window.days if window else None,
            "sources": window.sources if window else {},
            "postmaster_start": snapshot.evidence.postmaster_start if snapshot.evidence else None,
        },
    )
