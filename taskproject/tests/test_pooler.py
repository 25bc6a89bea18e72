"""The app and perfaudit behind a real PgBouncer in pool_mode = transaction (DB_TRANSACTION_POOLER).

PgBouncer (Debian's package; `make test` installs it) runs on a free 127.0.0.1 port in front of
the tests' own embedded PostgreSQL, with at most 2 server connections. Assertions are outcomes:
every request answered 2xx, every acknowledged write present, the server connections clean
afterwards. No timing thresholds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import psycopg
import pytest

from benchmarks.servers import gunicorn
from taskproject.embedded_db import ROOT
from taskproject.pgparts import PgBouncer
from taskproject.tests.deployment import app_env, call, run_clients

TIMEOUT_ROLE = "web_timeout"
# Settings a client of the pool must find as a fresh session would have them.
SESSION_SETTINGS = (
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "search_path",
    "TimeZone",
    "DateStyle",
    "default_transaction_read_only",
    "default_transaction_isolation",
    "work_mem",
)


@pytest.fixture(scope="module")
def pooler(deploy_primary):
    with deploy_primary.admin() as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [TIMEOUT_ROLE]).fetchone():
            conn.execute(f"CREATE ROLE {TIMEOUT_ROLE} LOGIN SUPERUSER")
        # What docs/scaling.md tells operators to do for the pooler's login role.
        conn.execute(f"ALTER ROLE {TIMEOUT_ROLE} SET statement_timeout = '500ms'")
    bouncer = PgBouncer(
        server=deploy_primary.server,
        base=deploy_primary.server.base.parent / "pgbouncer",
        pool_size=2,
        users=("postgres", TIMEOUT_ROLE),
    ).start()
    yield bouncer
    bouncer.stop()


def pooled_env(pooler, primary, user="postgres", **extra):
    return app_env(
        pooler.url(primary.dbname, user),
        DB_TRANSACTION_POOLER="1",
        DB_APPLICATION_NAME="taskproject-pooled",
        **extra,
    )


def server_connections(pooler) -> int:
    return len([s for s in pooler.show("SERVERS") if s["database"] != "pgbouncer"])


def session_settings(conninfo: str) -> tuple:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return conn.execute(
            "SELECT " + ", ".join(f"current_setting('{name}')" for name in SESSION_SETTINGS)
        ).fetchone()


def inspect_every_server_connection(pooler, dbname: str) -> list[dict]:
    """One client transaction per server connection at once, so each one is looked at."""
    clients = [psycopg.connect(pooler.url(dbname), autocommit=True) for _ in range(2)]
    try:
        found = []
        for conn in clients:
            conn.execute("BEGIN")
            row = conn.execute(
                "SELECT pg_backend_pid(), "
                + ", ".join(f"current_setting('{name}')" for name in SESSION_SETTINGS)
                + ", (SELECT count(*) FROM pg_prepared_statements),"
                " (SELECT count(*) FROM pg_cursors),"
                " (SELECT count(*) FROM pg_listening_channels()),"
                " (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                "  AND pid = pg_backend_pid())"
            ).fetchone()
            found.append(
                {
                    "pid": row[0],
                    "settings": row[1 : 1 + len(SESSION_SETTINGS)],
                    "prepared": row[-4],
                    "cursors": row[-3],
                    "listening": row[-2],
                    "advisory_locks": row[-1],
                }
            )
        return found
    finally:
        for conn in clients:
            conn.execute("ROLLBACK")
            conn.close()


def test_load_and_writes_through_pgbouncer_leave_no_session_state(pooler, deploy_primary):
    primary = deploy_primary
    writer, reader = primary.accounts["writer"], primary.accounts["reader"]
    direct_defaults = session_settings(primary.server.url(primary.dbname))
    env = pooled_env(pooler, primary, DB_STATEMENT_TIMEOUT_MS="7000")
    seen_servers: list[int] = []
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            seen_servers.append(server_connections(pooler))
            time.sleep(0.05)

    with gunicorn("taskproject.wsgi:application", env=env, workers=2) as base:
        task_id = call(base, "GET", "/api/tasks/", reader.token).json()["results"][0]["id"]
        acknowledged: dict[int, str] = {}
        failures = []
        lock = threading.Lock()
        counter = iter(range(10**6))

        def work(n):
            if n < 2:  # writers
                title = f"pooled-{n}-{next(counter)}"
                reply = call(base, "POST", "/api/tasks/", writer.token, {"title": title})
                if reply.status == 201:
                    with lock:
                        acknowledged[reply.json()["id"]] = title
                return reply.status
            path = (
                "/api/tasks/",
                f"/api/tasks/{task_id}/",
                "/api/tasks/stats/",
                "/api/tasks/search/?q=task&mode=substring",
            )[n % 4]
            reply = call(base, "GET", path, reader.token)
            if reply.status != 200:
                failures.append((path, reply.status, reply.body[:200]))
            return reply.status

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            statuses = run_clients(6, 4.0, work)
        finally:
            sampling.set()
            sampler.join()

    assert statuses, "the clients made no requests"
    assert not failures, failures[:5]
    assert all(status in (200, 201) for status in statuses), sorted(set(statuses))
    # 2 gunicorn workers, each with its own persistent client connection, over <= 2 servers.
    assert seen_servers and max(seen_servers) <= 2
    assert max(seen_servers) >= 1
    # Every acknowledged write is in the database, with its title.
    with primary.admin() as conn:
        stored = dict(
            conn.execute(
                "SELECT id, title FROM tasks_task WHERE id = ANY(%s)", [list(acknowledged)]
            ).fetchall()
        )
    assert acknowledged and stored == acknowledged
    # Nothing the app did stayed on the server connections: a plain client of the same pool
    # finds what a fresh direct session has, and no prepared statement, cursor, LISTEN or
    # advisory lock anywhere.
    for server in inspect_every_server_connection(pooler, primary.dbname):
        assert server["settings"] == direct_defaults, server
        assert (server["prepared"], server["cursors"], server["listening"]) == (0, 0, 0)
        assert server["advisory_locks"] == 0
    print(
        f"\npgbouncer load: {len(statuses)} requests ({len(acknowledged)} writes), all 2xx, "
        f"max {max(seen_servers)} server connections"
    )


def test_statement_timeout_without_session_state(pooler, deploy_primary):
    """Autocommit reads: the role-level default. Transactions the app opens: SET LOCAL."""
    primary = deploy_primary
    token = primary.accounts["reader"].token

    def locked_request(env, method, path, body=None):
        with gunicorn("taskproject.wsgi:application", env=env, workers=1) as base:
            assert call(base, "GET", "/api/tasks/", token).status == 200
            admin = primary.admin()
            admin.execute("BEGIN")
            admin.execute("LOCK TABLE tasks_task IN ACCESS EXCLUSIVE MODE")
            try:
                blocked = call(base, method, path, token, body)
            finally:
                admin.execute("ROLLBACK")
                admin.close()
            after = call(base, "GET", "/api/tasks/", token)
        return blocked, after

    # The login role carries statement_timeout = 500ms; the app sets nothing itself.
    blocked, after = locked_request(
        pooled_env(pooler, primary, user=TIMEOUT_ROLE, DB_STATEMENT_TIMEOUT_MS="0"),
        "GET",
        "/api/tasks/",
    )
    assert blocked.status == 503 and "detail" in blocked.json()
    assert after.status == 200
    # A role without a default: the write's transaction carries SET LOCAL statement_timeout.
    blocked, after = locked_request(
        pooled_env(pooler, primary, DB_STATEMENT_TIMEOUT_MS="500"),
        "POST",
        "/api/tasks/",
        {"title": "never stored"},
    )
    assert blocked.status == 503 and "detail" in blocked.json()
    assert after.status == 200
    with primary.admin() as conn:
        assert not conn.execute("SELECT 1 FROM tasks_task WHERE title = 'never stored'").fetchone()
    # SET LOCAL ended with its transaction: the postgres role's pool is back to the default.
    for server in inspect_every_server_connection(pooler, primary.dbname):
        assert server["settings"][0] == "0", server


def manage(pooler, primary, *args, **extra) -> subprocess.CompletedProcess:
    env = {**os.environ, **pooled_env(pooler, primary, **extra)}
    env.pop("TASKPROJECT_WEB", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_perfaudit_commands_work_through_pgbouncer(pooler, deploy_primary):
    primary = deploy_primary
    writer = primary.accounts["writer"]
    for command in (
        ["dbconnections", "--format", "json"],
        ["auditindexes", "--format", "json"],
        ["tablestats", "--format", "json"],
        ["explain", "SELECT * FROM tasks_task WHERE owner_id = 1", "--analyze", "--format", "json"],
        ["explain", "--url", "/api/tasks/", "--user", "writer", "--analyze", "--format", "json"],
    ):
        result = manage(pooler, primary, *command)
        assert result.returncode == 0, (command, result.stderr[-2000:])
        report = json.loads(result.stdout)
        assert report["findings"] is not None
    # What perfaudit sees of the pooler, with its admin console configured.
    result = manage(
        pooler,
        primary,
        "dbconnections",
        "--format",
        "json",
        PERFAUDIT_POOLER_ADMIN_URL=pooler.admin_url,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["pooler"]["transaction_pooler"] is True
    assert report["pooler"]["admin_error"] is None
    assert {p["pool_mode"] for p in report["pooler"]["pools"]} == {"transaction"}
    assert report["headroom"]["mode"] == "transaction_pooler"
    assert report["headroom"]["pooler_pool_size"] == 2  # max_db_connections = 2
    assert report["headroom"]["server_demand"] == 2
    assert report["pooler"]["config"]["max_client_conn"] == "500"
    assert not [f for f in report["findings"] if f["kind"].startswith("pooler_")]
    text = manage(
        pooler, primary, "dbconnections", PERFAUDIT_POOLER_ADMIN_URL=pooler.admin_url
    ).stdout
    assert "Transaction pooler mode: on" in text and "cl_waiting" in text

    # EXPLAIN ANALYZE of a write runs in a transaction that is rolled back, through the pooler
    # as directly: the row is unchanged afterwards, and the SET LOCAL statement_timeout /
    # transaction_read_only it used left nothing on the server connections.
    result = manage(
        pooler,
        primary,
        "explain",
        f"UPDATE tasks_task SET title = 'explained' WHERE owner_id = {writer.id}",
        "--analyze",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with primary.admin() as conn:
        assert not conn.execute("SELECT 1 FROM tasks_task WHERE title = 'explained'").fetchone()
    defaults = session_settings(primary.server.url(primary.dbname))
    for server in inspect_every_server_connection(pooler, primary.dbname):
        assert server["settings"] == defaults


ITERATOR_CHECK = """
import json, django, psycopg
django.setup()
from django.db import connection
from tasks.models import Task
ids = [t.id for t in Task.objects.order_by("id").iterator(chunk_size=7)]
print(json.dumps({
    "iterated": len(ids),
    "counted": Task.objects.count(),
    "server_side_cursors_disabled": connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"],
    "prepare_threshold": connection.connection.prepare_threshold,
    "client_binding": isinstance(connection.connection.cursor(), psycopg.ClientCursor),
    "options": connection.get_connection_params().get("options"),
}))
"""


def test_iterator_and_no_prepared_statements_through_pgbouncer(pooler, deploy_primary):
    result = subprocess.run(
        [sys.executable, "-c", ITERATOR_CHECK],
        cwd=ROOT,
        env={
            **os.environ,
            **pooled_env(pooler, deploy_primary, TASKPROJECT_WEB="1"),
            "DJANGO_SETTINGS_MODULE": "taskproject.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout)
    assert found["iterated"] == found["counted"] > 0
    assert found["server_side_cursors_disabled"] is True
    # Client-side binding (ClientCursor), and psycopg would never prepare: nothing for the
    # pooler to route to the wrong server connection.
    assert found["prepare_threshold"] is None
    assert found["client_binding"] is True
    # A web process, yet no startup options (PgBouncer refuses them).
    assert found["options"] is None


ADMIN_PAGES = """
import django, json
from django.conf import settings
django.setup()
from django.test.utils import override_settings, setup_test_environment
setup_test_environment()
# Rendering without collectstatic (like the suite's conftest does).
override_settings(STORAGES={**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}).enable()
from django.test import Client
from django.urls import reverse
from tasks.management.commands.demouser import set_permissions
from tasks.models import User
# boss is staff, not superuser: the demo staff's permissions, and ANALYZE allowed on the page.
set_permissions(boss := User.objects.get(username="boss"))
override_settings(PERFAUDIT={**settings.PERFAUDIT, "ADMIN_EXPLAIN_ANALYZE": True}).enable()
client = Client()
client.force_login(boss)
statuses = {
    page: client.get(reverse(f"admin:perfaudit_{page}")).status_code
    for page in ("overview", "queries", "indexes", "tables", "connections", "explain")
}
explained = client.post(
    reverse("admin:perfaudit_explain"),
    {"sql": "SELECT count(*) FROM tasks_task", "analyze": "on"},
)
statuses["explain-analyze"] = explained.status_code
statuses["explain-has-plan"] = "Aggregate" in explained.content.decode()
print(json.dumps(statuses))
"""


def test_perfaudit_admin_pages_work_through_pgbouncer(pooler, deploy_primary):
    env = {
        **os.environ,
        **pooled_env(pooler, deploy_primary, TASKPROJECT_WEB="1", ALLOWED_HOSTS="testserver"),
        "DJANGO_SETTINGS_MODULE": "taskproject.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", ADMIN_PAGES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    statuses = json.loads(result.stdout.strip().splitlines()[-1])
    assert statuses.pop("explain-has-plan") is True
    assert set(statuses.values()) == {200}, statuses
    defaults = session_settings(deploy_primary.server.url(deploy_primary.dbname))
    for server in inspect_every_server_connection(pooler, deploy_primary.dbname):
        assert server["settings"] == defaults
