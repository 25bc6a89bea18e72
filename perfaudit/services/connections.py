"""dbconnections: collect the setup, pg_stat_activity and limits, replication and the pooler in
front; evaluate; report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import DatabaseError, connections

from perfaudit.catalog import activity as catalog
from perfaudit.catalog import pooler, replication
from perfaudit.catalog.activity import ActivityGroup, ConnectionSetup
from perfaudit.catalog.pooler import PoolerSnapshot
from perfaudit.catalog.replication import ReplicationSnapshot
from perfaudit.conf import get_settings
from perfaudit.errors import one_line
from perfaudit.findings import Report
from perfaudit.rules import connections as rules
from perfaudit.rules import pooler as pooler_rules
from perfaudit.rules import replication as replication_rules
from perfaudit.rules.connections import Headroom
from perfaudit.services.base import envelope, get_connection


@dataclass(kw_only=True)
class ConnectionsReport(Report):
    setup: ConnectionSetup
    activity: list[ActivityGroup] = field(default_factory=list)
    headroom: Headroom
    #: pooler_rules.arithmetic(): mode, client/server demand, per-replica headroom.
    arithmetic: dict[str, Any] = field(default_factory=dict)
    #: The audited database first, then each replica alias (TEST["MIRROR"] == alias).
    replication: list[ReplicationSnapshot] = field(default_factory=list)
    pooler: PoolerSnapshot | None = None

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


def db_connections(*, using: str = "default") -> ConnectionsReport:
    connection = get_connection(using)
    conf = get_settings()
    snapshot = catalog.collect(connection)

    snapshots = [replication.collect(connection, alias=using)]
    replica_limits: dict[str, int | None] = {}
    for alias in replica_aliases(using):
        try:
            replica = connections[alias]
            snapshots.append(replication.collect(replica, alias=alias))
            replica_limits[alias] = catalog.connection_limits(replica).available_to_apps
        except DatabaseError as exc:
            snapshots.append(replication.unreachable(alias, one_line(exc)))
            replica_limits[alias] = None
    pooled = pooler.collect(
        connection, transaction_pooler=conf.TRANSACTION_POOLER, admin_url=conf.POOLER_ADMIN_URL
    )
    room = rules.headroom(snapshot, conf)
    arithmetic = pooler_rules.arithmetic(
        app_processes=room.app_processes,
        connections_per_process=room.connections_per_process,
        available_to_apps=room.available_to_apps,
        transaction_pooler=conf.TRANSACTION_POOLER,
        pooler_pool_size=pooled.pool_size_for(connection.settings_dict.get("NAME") or ""),
        pooler_max_client_conn=(
            int(pooled.config["max_client_conn"]) if "max_client_conn" in pooled.config else None
        ),
        replicas=replica_limits,
    )
    # Behind a transaction pooler the server sees the pool, not the app processes.
    server_demand = arithmetic["server_demand"]
    findings = [
        *rules.evaluate(snapshot, conf, server_demand=server_demand),
        *replication_rules.evaluate(snapshots, conf, expected_standbys=len(replica_limits)),
        *pooler_rules.evaluate(pooled, conf, alias=using),
        *pooler_rules.arithmetic_findings(arithmetic, alias=using),
    ]
    return ConnectionsReport(
        **envelope(connection, snapshot.server, findings),
        setup=snapshot.setup,
        activity=snapshot.groups,
        headroom=rules.headroom(snapshot, conf, server_demand=server_demand),
        arithmetic=arithmetic,
        replication=snapshots,
        pooler=pooled,
    )
