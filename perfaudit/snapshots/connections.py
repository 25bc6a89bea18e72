"""``dbconnections``: Django's connection setup, pg_stat_activity, the server's limits, who
blocks whom, the replicas and the pooler in front: one snapshot, judged in one go."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perfaudit.snapshots.base import Record, Snapshot
from perfaudit.snapshots.locks import LocksSnapshot
from perfaudit.snapshots.pooler import PoolerSnapshot
from perfaudit.snapshots.replication import ReplicationSnapshot
from perfaudit.snapshots.server import ServerInfo


@dataclass(frozen=True)
class ActivityGroup(Record):
    database: str | None
    application: str
    state: str
    connections: int
    oldest_xact_seconds: float | None
    oldest_query_seconds: float | None


@dataclass(frozen=True)
class ConnectionLimits(Record):
    max_connections: int
    superuser_reserved: int
    reserved: int  # reserved_connections (PostgreSQL 16+), 0 before
    in_use: int  # client backends, all databases

    @property
    def available_to_apps(self) -> int:
        return self.max_connections - self.superuser_reserved - self.reserved


@dataclass(frozen=True)
class ConnectionSetup(Record):
    """How Django connects (settings.DATABASES[alias]), and this process's pool, if any."""

    alias: str
    conn_max_age: Any
    conn_health_checks: Any
    #: The OPTIONS["pool"] value: a dict of pool options, True, or False/None.
    pool_options: Any
    #: Stats of this process's pool only: each worker process has its own.
    pool_stats: dict | None
    #: settings.DATABASES[alias]["NAME"]: the database a pooler's pool is sized for.
    database: str = ""

    @property
    def pool(self) -> dict | bool:
        """The pool's options, or whether a pool is on (OPTIONS["pool"] = True)."""
        return self.pool_options if isinstance(self.pool_options, dict) else bool(self.pool_options)


@dataclass(frozen=True)
class ConnectionsSelection(Record):
    #: The alias sits behind a transaction pooler (PERFAUDIT["TRANSACTION_POOLER"]).
    transaction_pooler: bool = False
    #: The pooler's admin console (PERFAUDIT["POOLER_ADMIN_URL"]), read when set.
    pooler_admin_url: str | None = None
    #: The aliases of the read replicas (mirrors of the audited alias).
    replicas: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConnectionsSnapshot(Snapshot):
    KIND = "connections"

    server: ServerInfo
    setup: ConnectionSetup
    groups: list[ActivityGroup]
    limits: ConnectionLimits
    #: Sessions waiting for a lock and who holds it.
    locks: LocksSnapshot = field(default_factory=lambda: LocksSnapshot(()))
    #: The audited database first, then each replica alias.
    replication: list[ReplicationSnapshot] = field(default_factory=list)
    #: Replica alias -> connections its server allows apps (None: unreachable).
    replica_limits: dict[str, int | None] = field(default_factory=dict)
    pooler: PoolerSnapshot | None = None
    selection: ConnectionsSelection = field(default_factory=ConnectionsSelection)
