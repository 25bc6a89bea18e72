"""Reads on a real streaming replica, read-your-writes by LSN, a replica that goes away.

The replica is a hot standby of the tests' own primary (pg_basebackup -R -X stream) that applies
every commit 1 s late (recovery_min_apply_delay): a router that sent a writer's read to it would
return the old rows. Routing is observed through the X-Read-Alias header
(DB_REPLICA_DEBUG_HEADER=1) and, for staleness, by querying the replica directly. Waits for
catch-up are bounded polls, not timing assertions.

The serving tests run on both servers: WSGI (the DRF views) and ASGI, where the routes that have
a native async view (tasks/routes.py) are called there (/api/async/...), the others through DRF.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote

import psycopg
import pytest

from benchmarks.servers import gunicorn
from taskproject.embedded_db import ROOT
from taskproject.pgparts import ReplicaServer, current_lsn
from taskproject.redisparts import RedisServer
from taskproject.tests.deployment import app_env, call, run_clients

APPLY_DELAY_MS = 1000
REDIS_URL = "redis://127.0.0.1:6379/10"  # issue 10's Redis database on the shared machine


@pytest.fixture(scope="module")
def replica(deploy_primary):
    server = ReplicaServer(
        base=deploy_primary.server.base.parent / "replica",
        dbname=deploy_primary.dbname,
        primary=deploy_primary.server,
        apply_delay_ms=APPLY_DELAY_MS,
    )
    server.ensure_running()
    yield server
    server.stop()


@dataclass(frozen=True)
class Server:
    app: str
    kind: str
    native: str  # the prefix of the routes both servers serve: "/api/" or "/api/async/"

    def serve(self, env, workers):
        if self.kind == "asgi":
            # Django's sync work under ASGI runs on a new thread per request: its connections
            # close at the request's end (DB_POOL, make run-asgi's choice, is refused with
            # replicas; docs/scaling.md). The native async views have pools of their own.
            env = {**env, "CONN_MAX_AGE": "0"}
        return gunicorn(self.app, env=env, workers=workers, kind=self.kind)


SERVERS = [
    pytest.param(Server("taskproject.wsgi:application", "sync", "/api/"), id="wsgi"),
    pytest.param(Server("taskproject.asgi:application", "asgi", "/api/async/"), id="asgi"),
]


@pytest.fixture(params=SERVERS)
def server(request) -> Server:
    return request.param


def replica_url(replica) -> str:
    return f"postgresql://postgres@{quote(str(replica.socket_dir), safe='')}:5432/{replica.dbname}"


def replica_env(primary, replica, **extra):
    return app_env(
        primary.url,
        DATABASE_REPLICA_URLS=replica_url(replica),
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX=f"test-i10-{secrets.token_hex(4)}",
        DB_REPLICA_DEBUG_HEADER="1",
        DB_REPLICA_RETRY_SECONDS="1",
        **extra,
    )


def on_replica(replica, sql, params=()):
    with psycopg.connect(replica.url(replica.dbname), autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def read_alias(reply) -> str | None:
    """The X-Read-Alias header (uvicorn sends header names in lower case)."""
    return {name.lower(): value for name, value in reply.headers.items()}.get("x-read-alias")


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def test_reads_on_replica_and_a_writer_reads_its_own_writes(deploy_primary, replica, server):
    primary = deploy_primary
    writer, reader = primary.accounts["writer"], primary.accounts["reader"]
    native = server.native
    with primary.admin() as conn:
        # The writer's first request records its token's last use (at most once per
        # TOUCH_INTERVAL): bookkeeping, which must not pin the writer to the primary.
        conn.execute(
            "UPDATE tasks_apitoken SET last_used_at = NULL WHERE user_id = %s", [writer.id]
        )
    with server.serve(replica_env(primary, replica), workers=2) as base:
        # Reads land on the replica (both workers: a few requests).
        for account in (writer, reader, reader, reader):
            reply = call(base, "GET", f"{native}tasks/", account.token)
            assert reply.status == 200
            assert read_alias(reply) == "replica_1"
        before = call(base, "GET", f"{native}tasks/stats/", writer.token).json()

        created = call(base, "POST", "/api/tasks/", writer.token, {"title": "fresh write"})
        assert created.status == 201
        task_id = created.json()["id"]
        # The replica has not applied it yet: reading it there would miss the write.
        assert on_replica(replica, "SELECT 1 FROM tasks_task WHERE id = %s", [task_id]) == []

        # The writer reads it back at once: item, list, own statistics.
        item = call(base, "GET", f"/api/tasks/{task_id}/", writer.token)
        assert item.status == 200 and item.json()["title"] == "fresh write"
        assert read_alias(item) == "default"
        listing = call(base, "GET", f"{native}tasks/", writer.token)
        assert read_alias(listing) == "default"
        assert task_id in [t["id"] for t in listing.json()["results"]]
        stats = call(base, "GET", f"{native}tasks/stats/", writer.token).json()
        assert stats["total_tasks"] == before["total_tasks"] + 1
        assert stats["pending_tasks"] == before["pending_tasks"] + 1

        # Another user keeps reading the replica meanwhile.
        other = call(base, "GET", f"{native}tasks/", reader.token)
        assert other.status == 200 and read_alias(other) == "replica_1"

        # Once the replica has replayed the write, the writer is back on it.
        replica.wait_replayed(current_lsn(primary.server))
        back = wait_for(
            lambda: (
                read_alias(r := call(base, "GET", f"/api/tasks/{task_id}/", writer.token))
                == "replica_1"
                and r
            )
        )
        assert back, "the writer never returned to the replica after it caught up"
        assert back.json()["title"] == "fresh write"

        # Bulk complete (raw SQL write): the writer's stats show it at once.
        done = call(base, "POST", f"{native}tasks/bulk-complete/", writer.token, {"ids": [task_id]})
        assert done.status == 200 and done.json()["ids"] == [task_id]
        stats = call(base, "GET", f"{native}tasks/stats/", writer.token)
        assert read_alias(stats) == "default"
        assert stats.json()["completed_tasks"] == before["completed_tasks"] + 1


def test_stopped_replica_costs_no_read_and_is_used_again_later(deploy_primary, replica, server):
    primary = deploy_primary
    reader = primary.accounts["reader"]
    native = server.native
    with server.serve(replica_env(primary, replica), workers=2) as base:
        reply = call(base, "GET", f"{native}tasks/", reader.token)
        assert read_alias(reply) == "replica_1"
        stopper = threading.Timer(1.5, replica.stop)
        stopper.start()
        try:
            replies = run_clients(
                4,
                4.0,
                lambda n: call(
                    base, "GET", (f"{native}tasks/", f"{native}tasks/stats/")[n % 2], reader.token
                ),
            )
        finally:
            stopper.join()
            stopped = not replica.is_running()
            replica.ensure_running()
        assert stopped
        assert replies and all(r.status == 200 for r in replies), sorted(
            {r.status for r in replies}
        )
        aliases = [read_alias(r) for r in replies]
        assert "replica_1" in aliases and "default" in aliases
        # Retried after DB_REPLICA_RETRY_SECONDS: reads go back to the replica.
        assert wait_for(
            lambda: read_alias(call(base, "GET", f"{native}tasks/", reader.token)) == "replica_1"
        )


def test_redis_down_sends_reads_to_the_primary_and_keeps_write_positions(
    deploy_primary, replica, tmp_path
):
    # Read-your-writes positions live in Redis (a Redis of this test's own, not the machine's):
    # while it cannot be asked, nobody's reads go to a replica; a position it missed is written
    # when it answers again, before anyone reads positions from it.
    primary = deploy_primary
    writer, reader = primary.accounts["writer"], primary.accounts["reader"]
    redis_server = RedisServer(base=tmp_path / "redis")
    redis_server.start()
    env = replica_env(primary, replica, REDIS_RETRY_SECONDS="0.5", REDIS_TIMEOUT_MS="200")
    env["REDIS_URL"] = redis_server.url
    try:
        with gunicorn("taskproject.wsgi:application", env=env, workers=1) as base:

            def on_replica():
                reply = call(base, "GET", "/api/tasks/", reader.token)
                return read_alias(reply) == "replica_1"

            assert wait_for(on_replica)
            redis_server.kill()
            for _ in range(3):
                reply = call(base, "GET", "/api/tasks/", reader.token)
                assert reply.status == 200 and read_alias(reply) == "default"
            before = current_lsn(primary.server)
            created = call(base, "POST", "/api/tasks/", writer.token, {"title": "Redis away"})
            assert created.status == 201

            redis_server.start(with_data=False)
            key = f"{env['CACHE_KEY_PREFIX']}:replicas:lsn:{writer.id}"
            # Written by the recovery (this Redis started empty): a position past the write's.
            assert wait_for(lambda: redis_server.client().get(key) is not None)
            assert int(redis_server.client().get(key)) > before
            assert wait_for(on_replica)  # again, once reads resume
    finally:
        redis_server.stop()


def test_replica_lagging_beyond_the_limit_is_skipped(deploy_primary, replica):
    primary = deploy_primary
    writer, reader = primary.accounts["writer"], primary.accounts["reader"]
    env = replica_env(primary, replica, DB_REPLICA_MAX_LAG_MS="200")
    with gunicorn("taskproject.wsgi:application", env=env, workers=1) as base:
        assert read_alias(call(base, "GET", "/api/tasks/", reader.token)) == "replica_1"
        writing = threading.Event()

        def keep_writing():
            while not writing.is_set():
                call(base, "POST", "/api/tasks/", writer.token, {"title": "lag maker"})
                time.sleep(0.05)

        thread = threading.Thread(target=keep_writing)
        thread.start()
        try:
            # Commits keep arriving and each waits 1 s: the replica stays > 200 ms behind.
            skipped = wait_for(
                lambda: read_alias(call(base, "GET", "/api/tasks/", reader.token)) == "default"
            )
        finally:
            writing.set()
            thread.join()
        assert skipped, "a replica 1 s behind was still used with DB_REPLICA_MAX_LAG_MS=200"
        replica.wait_replayed(current_lsn(primary.server))
        assert wait_for(
            lambda: read_alias(call(base, "GET", "/api/tasks/", reader.token)) == "replica_1"
        )


def test_dbconnections_shows_replication_state_and_lag(deploy_primary, replica):
    env = {**os.environ, **replica_env(deploy_primary, replica)}
    env.pop("TASKPROJECT_WEB", None)

    def dbconnections(*args):
        result = subprocess.run(
            [sys.executable, "manage.py", "dbconnections", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    report = json.loads(dbconnections("--format", "json"))
    primary, standby = report["replication"]
    assert (primary["alias"], primary["role"]) == ("default", "primary")
    assert [s["state"] for s in primary["standbys"]] == ["streaming"]
    assert primary["standbys"][0]["lag_bytes"] is not None
    assert (standby["alias"], standby["role"]) == ("replica_1", "standby")
    assert standby["receiver"]["status"] == "streaming"
    assert [r["alias"] for r in report["headroom"]["replicas"]] == ["replica_1"]
    assert report["headroom"]["replicas"][0]["available_to_apps"] > 0
    assert not [
        f for f in report["findings"] if f["kind"] in {"missing_standby", "replica_unreachable"}
    ]
    text = dbconnections()
    assert "Replication" in text and "replica_1" in text and "streaming" in text

    replica.stop()
    try:
        report = json.loads(dbconnections("--format", "json"))
    finally:
        replica.ensure_running()
    assert report["replication"][1]["role"] == "unreachable"
    assert "replica_unreachable" in [f["kind"] for f in report["findings"]]
