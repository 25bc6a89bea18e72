"""Connection rules: demand vs the server's limit, idle-in-transaction, long-running, no reuse."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from perfaudit.catalog.activity import ConnectionsSnapshot
from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.rules import locks
from perfaudit.sqltext import quote_ident


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


def headroom(
    snapshot: ConnectionsSnapshot, conf: PerfauditSettings, *, server_demand: int | None = None
) -> Headroom:
    """``server_demand``: the server connections the apps open when that is not processes x
    connections (behind a transaction pooler it is the pool, rules/pooler.py)."""
    per_process = conf.CONNECTIONS_PER_PROCESS
    pool_options = snapshot.setup.pool_options
    if pool_options and isinstance(pool_options, dict):
        per_process = pool_options.get("max_size", per_process)
    limits = snapshot.limits
    demand = conf.APP_PROCESSES * per_process if server_demand is None else server_demand
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


def evaluate(
    snapshot: ConnectionsSnapshot, conf: PerfauditSettings, *, server_demand: int | None = None
) -> list[Finding]:
    return [
        *connection_findings(snapshot, conf, server_demand=server_demand),
        *locks.evaluate(snapshot.locks, conf),
    ]


def connection_findings(
    snapshot: ConnectionsSnapshot, conf: PerfauditSettings, *, server_demand: int | None = None
) -> list[Finding]:
    room = headroom(snapshot, conf, server_demand=server_demand)
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
                        sql=f"ALTER DATABASE {quote_ident(group.database or '')} SET "
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
