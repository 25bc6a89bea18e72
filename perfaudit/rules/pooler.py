"""Transaction-pooler findings and the connection arithmetic with a pooler and replicas. Pure.

Behind a transaction pooler (PgBouncer ``pool_mode = transaction``) consecutive transactions of
one client run on different server connections: startup options are refused, server-side
cursors and prepared statements break, and Django's own pool on top is double pooling.
"""

from __future__ import annotations

from dataclasses import asdict

from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.snapshots.pooler import PoolerSnapshot


def _client_checks(client) -> tuple:
    """(broken, kind, message, fix) for what breaks behind a transaction pooler."""
    return (
        (
            client.django_pool,
            "double_pooling",
            "Django's connection pool in front of a transaction pooler: two pools, and "
            "Django's holds pooler connections idle",
            Fix(sql="-- DATABASES[...]['OPTIONS']: remove 'pool'; keep CONN_MAX_AGE"),
        ),
        (
            bool(client.startup_options),
            "pooler_startup_options",
            f"startup options {client.startup_options!r}: a transaction pooler refuses "
            "them (PgBouncer: 'unsupported startup parameter: options')",
            Fix(sql="ALTER ROLE <pooler login role> SET statement_timeout = '10s';"),
        ),
        (
            not client.server_side_cursors_disabled,
            "pooler_server_side_cursors",
            ".iterator() declares a server-side cursor in one transaction and fetches in "
            "later ones, on another server connection",
            Fix(sql="-- DATABASES[...]['DISABLE_SERVER_SIDE_CURSORS'] = True"),
        ),
        (
            client.server_side_binding,
            "pooler_prepared_statements",
            "server-side binding prepares statements on one server connection and runs "
            "them on others",
            Fix(sql="-- DATABASES[...]['OPTIONS']: remove 'server_side_binding'"),
        ),
    )


def _pool_findings(pool: dict, *, transaction_pooler: bool) -> list[Finding]:
    findings = []
    if int(pool.get("cl_waiting") or 0) > 0:
        findings.append(
            Finding(
                kind="pooler_clients_waiting",
                severity="warning",
                table=None,
                object=f"{pool.get('database')}/{pool.get('user')}",
                message=f"{pool['cl_waiting']} client(s) waiting for a server connection "
                f"(longest {pool.get('maxwait') or 0} s): the pool is too small for the load",
                evidence=dict(pool),
                fix=Fix(sql="-- pgbouncer.ini: raise default_pool_size (within max_connections)"),
            )
        )
    if transaction_pooler and pool.get("pool_mode") not in (None, "transaction"):
        findings.append(
            Finding(
                kind="pooler_mode",
                severity="info",
                table=None,
                object=f"{pool.get('database')}/{pool.get('user')}",
                message=f"the pool runs in {pool.get('pool_mode')} mode: each client holds "
                "a server connection for its whole session",
                evidence=dict(pool),
            )
        )
    return findings


def evaluate(snapshot: PoolerSnapshot, conf: PerfauditSettings, *, alias: str) -> list[Finding]:
    findings: list[Finding] = []
    client = snapshot.client
    if client.transaction_pooler:
        findings += [
            Finding(
                kind=kind,
                severity="error",
                table=None,
                object=alias,
                message=message,
                evidence=asdict(client),
                fix=fix,
            )
            for broken, kind, message, fix in _client_checks(client)
            if broken
        ]
    for pool in snapshot.pools:
        findings += _pool_findings(pool, transaction_pooler=client.transaction_pooler)
    if snapshot.admin_error:
        findings.append(
            Finding(
                kind="pooler_admin_unreachable",
                severity="warning",
                table=None,
                object=alias,
                message=f"the pooler's admin console does not answer: {snapshot.admin_error}",
                evidence={"error": snapshot.admin_error},
            )
        )
    return findings


def arithmetic(
    *,
    app_processes: int,
    connections_per_process: int,
    available_to_apps: int,
    transaction_pooler: bool,
    pooler_pool_size: int | None,
    pooler_max_client_conn: int | None,
    replicas: dict[str, int | None],
) -> dict:
    """Who opens how many connections where.

    Direct: every process holds ``connections_per_process`` on the primary and as many on each
    replica it reads from. Behind a transaction pooler: those are *client* connections to the
    pooler (bounded by its ``max_client_conn``); the server sees only the pool
    (``default_pool_size`` per database/user pair, capped by ``max_db_connections``).
    ``replicas``: alias -> connections its server allows apps (None: unknown).
    """
    clients = app_processes * connections_per_process
    if transaction_pooler and pooler_pool_size is not None:
        server_demand = pooler_pool_size
    else:
        server_demand = clients
    return {
        "mode": "transaction_pooler" if transaction_pooler else "direct",
        "client_connections": clients,
        "pooler_max_client_conn": pooler_max_client_conn,
        "pooler_pool_size": pooler_pool_size,
        "server_demand": server_demand,
        "primary_headroom": available_to_apps - server_demand,
        "client_headroom": (
            pooler_max_client_conn - clients
            if transaction_pooler and pooler_max_client_conn is not None
            else None
        ),
        "replicas": [
            {
                "alias": alias,
                "demand": clients,
                "available_to_apps": available,
                "headroom": None if available is None else available - clients,
            }
            for alias, available in replicas.items()
        ],
    }


def arithmetic_findings(arith: dict, *, alias: str) -> list[Finding]:
    findings = []
    if arith["client_headroom"] is not None and arith["client_headroom"] < 0:
        findings.append(
            Finding(
                kind="too_many_pooler_clients",
                severity="error",
                table=None,
                object=alias,
                message=f"apps may open {arith['client_connections']} client connections; the "
                f"pooler accepts {arith['pooler_max_client_conn']} (max_client_conn)",
                evidence=arith,
                fix=Fix(
                    sql="-- pgbouncer.ini: raise max_client_conn (it costs no server connection)"
                ),
            )
        )
    for replica in arith["replicas"]:
        if replica["headroom"] is not None and replica["headroom"] < 0:
            findings.append(
                Finding(
                    kind="too_many_connections",
                    severity="error",
                    table=None,
                    object=replica["alias"],
                    message=f"apps may open {replica['demand']} connections to replica "
                    f"{replica['alias']}, which allows {replica['available_to_apps']}",
                    evidence=replica,
                    fix=Fix(
                        sql="-- put a pooler in front of the replica, or raise its "
                        "max_connections (a standby needs max_connections >= the primary's)"
                    ),
                )
            )
    return findings
