"""The admin's first page: database vitals plus every other report's findings, counted.

It reads every report's snapshots (indexes, tables, connections, queries, health) and judges
them with the same rules (each collect a handful of set-based catalog queries, whatever the
number of tables), so its counts are exactly what the detail pages and commands show, without
building their reports; the errors and warnings of all of them lead the page.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from perfaudit.catalog import connections, indexes, server, statements, tables
from perfaudit.conf import acknowledgements, get_settings
from perfaudit.findings import Finding, Report, acknowledge, severity_rank, sort_findings
from perfaudit.rules import connections as connection_rules
from perfaudit.rules import indexes as index_rules
from perfaudit.rules import statements as statement_rules
from perfaudit.rules import tables as table_rules
from perfaudit.rules.connections import Headroom
from perfaudit.services.base import envelope, get_connection
from perfaudit.services.connections import connections_selection
from perfaudit.services.health import health_findings
from perfaudit.services.statements import statements_selection
from perfaudit.snapshots.indexes import IndexSelection
from perfaudit.snapshots.server import DatabaseStats
from perfaudit.snapshots.statements import StatementsStatus
from perfaudit.snapshots.tables import TableSelection

#: The reports the overview summarizes (the admin shows those with errors, then warnings,
#: first).
OVERVIEW_SECTIONS = ("indexes", "tables", "connections", "queries", "health")


@dataclass(frozen=True)
class Section:
    name: str
    counts: dict[str, int]
    #: Its findings (not part of the JSON document, which lists every finding once).
    findings: list[Finding] = field(default_factory=list, repr=False)


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
            "sections": [{"name": s.name, "counts": s.counts} for s in self.sections],
        }

    def actions(self) -> list[tuple[str, Finding]]:
        """(report, finding) for every error and warning, errors first, each finding once (a
        blocked query is both a connection and a health finding)."""
        seen, result = set(), []
        for section in self.sections:
            for f in section.findings:
                key = (f.kind, f.table, f.object)
                if f.severity != "info" and not f.acknowledged and key not in seen:
                    seen.add(key)
                    result.append((section.name, f))
        return sorted(result, key=lambda pair: severity_rank(pair[1].severity), reverse=True)


def overview(*, using: str = "default") -> OverviewReport:
    """Database vitals plus the findings of every other report, counted by severity. No
    generic-plan probe for the queries: the overview prints no fixes."""
    connection = get_connection(using)
    conf = get_settings()
    stats = server.database_stats(connection)
    index_snapshot = indexes.collect(connection, IndexSelection())
    table_snapshot = tables.collect(connection, TableSelection())
    connection_snapshot = connections.collect(connection, connections_selection(using, conf))
    statement_snapshot = statements.collect(connection, statements_selection(conf))
    found = {
        "indexes": index_rules.evaluate(index_snapshot, conf),
        "tables": table_rules.evaluate(table_snapshot, conf),
        "connections": connection_rules.evaluate(connection_snapshot, conf),
        "queries": statement_rules.evaluate(statement_snapshot, conf),
        "health": health_findings(connection, conf)[1],
    }
    marks = acknowledgements()
    sections = []
    for name in OVERVIEW_SECTIONS:
        judged = acknowledge(sort_findings(found[name]), marks)
        counts = dict.fromkeys(("error", "warning", "info"), 0)
        for finding in judged:
            counts[finding.severity] += 1
        sections.append(Section(name=name, counts=counts, findings=judged))
    findings = [f for name in OVERVIEW_SECTIONS for f in found[name]]
    return OverviewReport(
        **envelope(connection, index_snapshot.server, findings),
        stats=stats,
        headroom=connection_rules.headroom(connection_snapshot, conf),
        statements_status=statement_snapshot.status,
        sections=sections,
    )
