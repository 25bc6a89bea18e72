"""dbconnections: collect the setup, pg_stat_activity and limits, replication and the pooler in
front; evaluate; report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connections

from perfaudit.catalog import connections as catalog
from perfaudit.conf import PerfauditSettings, get_settings
from perfaudit.findings import Report
from perfaudit.rules import connections as rules
from perfaudit.rules.connections import Headroom
from perfaudit.rules.sessions import SessionRow
from perfaudit.services.base import envelope, get_connection
from perfaudit.services.sessions import session_activity, session_dict
from perfaudit.snapshots.connections import ActivityGroup, ConnectionSetup, ConnectionsSelection
from perfaudit.snapshots.pooler import PoolerSnapshot
from perfaudit.snapshots.replication import ReplicationSnapshot


@dataclass(kw_only=True)
class ConnectionsReport(Report):
    setup: ConnectionSetup
    activity: list[ActivityGroup] = field(default_factory=list)
    headroom: Headroom
    #: rules.connections.arithmetic(): mode, client/server demand, per-replica headroom.
    arithmetic: dict[str, Any] = field(default_factory=dict)
    #: The audited database first, then each replica alias (TEST["MIRROR"] == alias).
    replication: list[ReplicationSnapshot] = field(default_factory=list)
    pooler: PoolerSnapshot | None = None
    #: The sessions (services.sessions), when asked for: all, or the busy ones (not idle).
    sessions: list[SessionRow] | None = None

    def payload(self) -> dict[str, Any]:
        sessions = self.sessions
        listed = {} if sessions is None else {"sessions": [session_dict(r) for r in sessions]}
        return listed | {
            "setup": {
                "alias": self.setup.alias,
                "conn_max_age": self.setup.conn_max_age,
                "conn_health_checks": self.setup.conn_health_checks,
                "pool": self.setup.pool,
                "pool_stats": self.setup.pool_stats,
            },
            "activity": [asdict(g) for g in self.activity],
            "headroom": {**self.headroom.to_dict(), **self.arithmetic},
            "replication": [asdict(s) for s in self.replication],
            "pooler": {
                "transaction_pooler": bool(self.pooler and self.pooler.client.transaction_pooler),
                **(asdict(self.pooler) if self.pooler else {}),
            },
        }


def replica_aliases(using: str) -> list[str]:
    """Aliases Django's test runner treats as mirrors of ``using``: its read replicas."""
    return [
        alias
        for alias, options in connections.settings.items()
        if alias != using and (options.get("TEST") or {}).get("MIRROR") == using
    ]


def connections_selection(using: str, conf: PerfauditSettings) -> ConnectionsSelection:
    return ConnectionsSelection(
        transaction_pooler=conf.TRANSACTION_POOLER,
        pooler_admin_url=conf.POOLER_ADMIN_URL,
        replicas=tuple(replica_aliases(using)),
    )


def db_connections(*, using: str = "default", sessions: str | None = None) -> ConnectionsReport:
    """``sessions``: None (not read), "busy" (every session but the idle ones) or "all"."""
    connection = get_connection(using)
    conf = get_settings()
    snapshot = catalog.collect(connection, connections_selection(using, conf))
    listed = None
    if sessions:
        listed = session_activity(using=using).sessions
        # Not the audit's own connection (the activity table leaves it out too).
        listed = [
            r
            for r in listed
            if not r.backend.own and (sessions == "all" or r.backend.state != "idle")
        ]
    return ConnectionsReport(
        sessions=listed,
        **envelope(connection, snapshot.server, rules.evaluate(snapshot, conf)),
        setup=snapshot.setup,
        activity=snapshot.groups,
        headroom=rules.headroom(snapshot, conf),
        arithmetic=rules.arithmetic(snapshot, conf),
        replication=snapshot.replication,
        pooler=snapshot.pooler,
    )
