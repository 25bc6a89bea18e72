"""Connection rules: demand vs the server's limit, idle-in-transaction, long-running, no reuse;
and, through their own modules, locks (rules.locks), replication (rules.replication) and the
pooler with the connection arithmetic (rules.pooler): ``evaluate`` judges the whole snapshot."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from perfaudit import ddl
from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.rules import locks, pooler, replication
from perfaudit.snapshots.connections import ConnectionsSnapshot


@dataclass(frozen=True)
class Headroom:
    """The connection arithmetic: what the server allows apps vs what the apps may open."""

    max_connections: int
    superuser_reserved_connections: int
    reserved_connections: int
    available_to_apps: int
    in_use: int
    app_processes: int
    connections_per_process: int
    app_demand: int
    headroom: int

    def to_dict(self) -> dict:
        return asdict(self)


def _per_process(snapshot: ConnectionsSnapshot, conf: PerfauditSettings) -> int:
    pool_options = snapshot.setup.pool_options
    if pool_options and isinstance(pool_options, dict):
        return pool_options.get("max_size", conf.CONNECTIONS_PER_PROCESS)
    return conf.CONNECTIONS_PER_PROCESS


def arithmetic(snapshot: ConnectionsSnapshot, conf: PerfauditSettings) -> dict:
    """rules.pooler.arithmetic for this snapshot: who opens how many connections where."""
    pooled = snapshot.pooler
    return pooler.arithmetic(
        app_processes=conf.APP_PROCESSES,
        connections_per_process=_per_process(snapshot, conf),
        available_to_apps=snapshot.limits.available_to_apps,
        transaction_pooler=snapshot.selection.transaction_pooler,
        pooler_pool_size=pooled.pool_size_for(snapshot.setup.database) if pooled else None,
        pooler_max_client_conn=pooled.max_client_conn if pooled else None,
        replicas=snapshot.replica_limits,
    )


def headroom(snapshot: ConnectionsSnapshot, conf: PerfauditSettings) -> Headroom:
    """The server connections the apps open against what the server allows them: processes x
    connections, or behind a transaction pooler its pool (rules/pooler.py)."""
    per_process = _per_process(snapshot, conf)
    limits = snapshot.limits
    demand = arithmetic(snapshot, conf)["server_demand"]
    return Headroom(
        max_connections=limits.max_connections,
        superuser_reserved_connections=limits.superuser_reserved,
        reserved_connections=limits.reserved,
        available_to_apps=limits.available_to_apps,
        in_use=limits.in_use,
        app_processes=conf.APP_PROCESSES,
        connections_per_process=per_process,
        app_demand=demand,
        headroom=limits.available_to_apps - demand,
    )


def evaluate(snapshot: ConnectionsSnapshot, conf: PerfauditSettings) -> list[Finding]:
    alias = snapshot.setup.alias
    return [
        *connection_findings(snapshot, conf),
        *locks.evaluate(snapshot.locks, conf),
        *replication.evaluate(
            snapshot.replication, conf, expected_standbys=len(snapshot.replica_limits)
        ),
        *(pooler.evaluate(snapshot.pooler, conf, alias=alias) if snapshot.pooler else []),
        *pooler.arithmetic_findings(arithmetic(snapshot, conf), alias=alias),
    ]


def connection_findings(snapshot: ConnectionsSnapshot, conf: PerfauditSettings) -> list[Finding]:
    room = headroom(snapshot, conf)
    alias = snapshot.setup.alias
    findings = []
    if room.app_demand > room.available_to_apps:
        findings.append(
            Finding(
                kind="too_many_connections",
                severity="error",
                table=None,
                object=alias,
                message=f"{room.app_processes} processes x {room.connections_per_process} "
                f"connections = {room.app_demand} > {room.available_to_apps} the server allows "
                f"(max_connections {room.max_connections} - reserved): expect 'too many clients'",
                evidence=room.to_dict(),
                fix=Fix(
                    sql="-- lower the pool max_size / workers, put PgBouncer in front, or "
                    "raise max_connections"
                ),
            )
        )
    elif room.app_demand > 0.8 * room.available_to_apps:
        findings.append(
            Finding(
                kind="low_connection_headroom",
                severity="warning",
                table=None,
                object=alias,
                message=f"apps may use {room.app_demand} of {room.available_to_apps} connections",
                evidence=room.to_dict(),
            )
        )
    for group in snapshot.groups:
        if group.state.startswith("idle in transaction"):
            findings.append(
                Finding(
                    kind="idle_in_transaction",
                    severity="warning",
                    table=None,
                    object=group.application,
                    message=f"{group.connections} connection(s) of {group.application} idle in "
                    f"a transaction (oldest {group.oldest_xact_seconds or 0:.0f} s): they hold "
                    "locks and block vacuum",
                    evidence=asdict(group),
                    # A session-level SET would only change the auditing session: the setting
                    # must reach the application's new sessions.
                    fix=Fix(
                        sql=f"ALTER DATABASE {ddl.ident(group.database or '')} SET "
                        "idle_in_transaction_session_timeout = '60s'; -- new sessions; "
                        "or ALTER ROLE <app role> SET ... for one role. Then find the code "
                        "that leaves transactions open"
                    ),
                )
            )
        if (group.oldest_query_seconds or 0) >= conf.LONG_RUNNING_SECONDS:
            findings.append(
                Finding(
                    kind="long_running_query",
                    severity="warning",
                    table=None,
                    object=group.application,
                    message=f"a query of {group.application} has run for "
                    f"{group.oldest_query_seconds:.0f} s",
                    evidence=asdict(group),
                )
            )
    if not snapshot.setup.pool_options and not snapshot.setup.conn_max_age:
        findings.append(
            Finding(
                kind="no_connection_reuse",
                severity="info",
                table=None,
                object=alias,
                message="CONN_MAX_AGE is 0 and no pool: every request opens a new connection",
                evidence={"conn_max_age": snapshot.setup.conn_max_age},
            )
        )
    return findings
