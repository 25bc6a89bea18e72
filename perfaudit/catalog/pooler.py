"""What the app can see of a connection pooler in front of the database (PgBouncer).

Two sources: the pooler's admin console when its URL is configured (``SHOW POOLS``,
``SHOW DATABASES``, ``SHOW CONFIG``: clients waiting, server connections per pool, pool sizes),
and, always, the server side: this role's backends in ``pg_stat_activity`` by client address,
application and state (behind a pooler they are the pool's server connections). The client
side of the setup (Django's options for the alias) comes along, for the rules that say what
breaks behind a transaction pooler.
"""

from __future__ import annotations

from typing import Any

from perfaudit.snapshots.pooler import ClientSetup, PoolerSnapshot, ServerBackends

POOL_COLUMNS = (
    "database",
    "user",
    "cl_active",
    "cl_waiting",
    "sv_active",
    "sv_idle",
    "sv_used",
    "sv_tested",
    "sv_login",
    "maxwait",
    "pool_mode",
)
CONFIG_KEYS = ("pool_mode", "default_pool_size", "max_client_conn", "max_db_connections")


def client_setup(connection, *, transaction_pooler: bool) -> ClientSetup:
    settings_dict = connection.settings_dict
    options = settings_dict.get("OPTIONS") or {}
    return ClientSetup(
        transaction_pooler=transaction_pooler,
        startup_options=options.get("options") or None,
        server_side_cursors_disabled=bool(settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")),
        server_side_binding=bool(options.get("server_side_binding")),
        django_pool=bool(options.get("pool")),
    )


def server_backends(connection) -> list[ServerBackends]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT client_addr::text, coalesce(nullif(application_name, ''), '(none)'),
                   coalesce(state, '(unknown)'), count(*)
            FROM pg_stat_activity
            WHERE backend_type = 'client backend' AND usename = current_user
              AND pid <> pg_backend_pid()
            GROUP BY 1, 2, 3
            ORDER BY 4 DESC, 1, 2, 3
            """
        )
        return [ServerBackends(*row) for row in cursor.fetchall()]


def _show(conn, what: str) -> list[dict[str, Any]]:
    # No parameters: psycopg sends it with the simple query protocol, the only one the
    # PgBouncer console speaks.
    cursor = conn.execute(f"SHOW {what}")
    names = [c.name for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def read(connection, *, transaction_pooler: bool, admin_url: str | None) -> PoolerSnapshot:
    client = client_setup(connection, transaction_pooler=transaction_pooler)
    # The server side of a pooler only means something when there is one.
    backends = server_backends(connection) if transaction_pooler or admin_url else []
    if not admin_url:
        return PoolerSnapshot(client=client, backends=backends)
    import psycopg

    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            pools = [
                {k: row.get(k) for k in POOL_COLUMNS if k in row}
                for row in _show(conn, "POOLS")
                if row.get("database") != "pgbouncer"
            ]
            databases = [r for r in _show(conn, "DATABASES") if r.get("name") != "pgbouncer"]
            config = {
                r["key"]: str(r["value"]) for r in _show(conn, "CONFIG") if r["key"] in CONFIG_KEYS
            }
    except psycopg.Error as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return PoolerSnapshot(
            client=client, backends=backends, admin_configured=True, admin_error=message
        )
    return PoolerSnapshot(
        client=client,
        backends=backends,
        admin_configured=True,
        pools=pools,
        databases=[
            {
                k: r.get(k)
                for k in (
                    "name",
                    "host",
                    "port",
                    "database",
                    "pool_size",
                    "max_connections",
                    "current_connections",
                    "pool_mode",
                )
            }
            for r in databases
        ],
        config=config,
    )
