"""tablestats: collect pg_stat_user_tables, evaluate vacuum/analyze/scan rules, report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from perfaudit.catalog import tables as catalog
from perfaudit.conf import get_settings
from perfaudit.errors import ServiceError
from perfaudit.findings import Report
from perfaudit.rules import tables as rules
from perfaudit.services.base import envelope, get_connection
from perfaudit.snapshots.tables import TableSelection, TableStats


@dataclass(kw_only=True)
class TableStatsReport(Report):
    tables: list[TableStats] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {
            "tables": [
                asdict(r)
                | {
                    "dead_ratio": round(r.dead_ratio, 4),
                    "last_vacuumed": r.last_vacuumed,
                    "last_analyzed": r.last_analyzed,
                }
                for r in self.tables
            ]
        }


def table_stats(*, using: str = "default", table: str | None = None) -> TableStatsReport:
    connection = get_connection(using)
    snapshot = catalog.collect(connection, TableSelection(table=table))
    if table and not snapshot.tables:
        raise ServiceError(f"no table {table!r} on the search path")
    findings = rules.evaluate(snapshot, get_settings())
    return TableStatsReport(
        **envelope(connection, snapshot.server, findings), tables=snapshot.tables
    )
