"""dbconnections: collect the setup, pg_stat_activity and limits, evaluate, report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from perfaudit.catalog import activity as catalog
from perfaudit.catalog.activity import ActivityGroup, ConnectionSetup
from perfaudit.conf import get_settings
from perfaudit.findings import Report
from perfaudit.rules import connections as rules
from perfaudit.rules.connections import Headroom
from perfaudit.services.base import envelope, get_connection


@dataclass(kw_only=True)
class ConnectionsReport(Report):
    setup: ConnectionSetup
    activity: list[ActivityGroup] = field(default_factory=list)
    headroom: Headroom

    def payload(self) -> dict[str, Any]:
        return {
            "setup": {
                "alias": self.setup.alias,
                "conn_max_age": self.setup.conn_max_age,
                "conn_health_checks": self.setup.conn_health_checks,
                "pool": self.setup.pool,
                "pool_stats": self.setup.pool_stats,
            },
            "activity": [asdict(g) for g in self.activity],
            "headroom": self.headroom.to_dict(),
        }


def db_connections(*, using: str = "default") -> ConnectionsReport:
    connection = get_connection(using)
    conf = get_settings()
    snapshot = catalog.collect(connection)
    return ConnectionsReport(
        **envelope(connection, snapshot.server, rules.evaluate(snapshot, conf)),
        setup=snapshot.setup,
        activity=snapshot.groups,
        headroom=rules.headroom(snapshot, conf),
    )
