"""The admin's first page: database vitals plus every other report's findings, counted."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from perfaudit.catalog import server
from perfaudit.catalog.server import DatabaseStats
from perfaudit.catalog.statements import StatementsStatus
from perfaudit.findings import Report
from perfaudit.rules.connections import Headroom
from perfaudit.services.base import envelope, get_connection
from perfaudit.services.connections import db_connections
from perfaudit.services.indexes import audit_indexes
from perfaudit.services.statements import slow_queries
from perfaudit.services.tables import table_stats

#: The reports the overview summarizes, in the order the admin shows them.
OVERVIEW_SECTIONS = ("indexes", "tables", "connections", "queries")


@dataclass(frozen=True)
class Section:
    name: str
    counts: dict[str, int]


@dataclass(kw_only=True)
class OverviewReport(Report):
    stats: DatabaseStats
    headroom: Headroom
    statements_status: StatementsStatus
    sections: list[Section] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {
            "stats": asdict(self.stats) | {"cache_hit_ratio": self.stats.cache_hit_ratio},
            "connections": {
                "in_use": self.headroom.in_use,
                "max_connections": self.headroom.max_connections,
                "available_to_apps": self.headroom.available_to_apps,
            },
            "pg_stat_statements": asdict(self.statements_status)
            | {"usable": self.statements_status.usable},
            "sections": [asdict(s) for s in self.sections],
        }


def overview(*, using: str = "default") -> OverviewReport:
    """Database vitals plus the findings of every other report, counted by severity.

    It runs the four reports themselves (each a handful of set-based catalog queries, whatever
    the number of tables), so its counts are exactly what the detail pages and commands show.
    """
    connection = get_connection(using)
    stats = server.database_stats(connection)
    reports = {
        "indexes": audit_indexes(using=using),
        "tables": table_stats(using=using),
        "connections": db_connections(using=using),
        "queries": slow_queries(using=using, probe_generic_plans=False),
    }
    sections = []
    for name in OVERVIEW_SECTIONS:
        counts = dict.fromkeys(("error", "warning", "info"), 0)
        for finding in reports[name].findings:
            counts[finding.severity] += 1
        sections.append(Section(name=name, counts=counts))
    findings = [f for name in OVERVIEW_SECTIONS for f in reports[name].findings]
    return OverviewReport(
        **envelope(connection, server.server_info(connection), findings),
        stats=stats,
        headroom=reports["connections"].headroom,
        statements_status=reports["queries"].status,
        sections=sections,
    )
