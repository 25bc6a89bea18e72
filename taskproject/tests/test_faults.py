"""Database faults survived: killed connections, a stopped server, pool exhaustion, timeouts.

Each test runs the real app under gunicorn against a second embedded PostgreSQL that the test
controls (never the dev or test database), and drives it with a small bounded HTTP client.
Assertions are about outcomes and ordering (a 503 arrives while the fault is still in place, a
200 after it is gone), not about speed.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from benchmarks.servers import gunicorn
from taskproject.embedded_db import ROOT, EmbeddedServer
from tasks import tokens

APP = "taskproject-faults"


@dataclass
class FaultDB:
    server: EmbeddedServer
    url: str
    token: str

    def admin(self):
        return psycopg.connect(self.server.url(), autocommit=True)

    def kill_app_connections(self) -> int:
        with self.admin() as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND pid <> pg_backend_pid()",
                [APP],
            ).fetchall()
        return len(rows)


@pytest.fixture(scope="module")
def fault_db():
    (ROOT / "var").mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="test-faults-", dir=ROOT / "var")) / "pg"
    server = EmbeddedServer(base=base, dbname="faults")
    server.ensure_running()
    url = f"postgresql://postgres@{quote(str(server.socket_dir), safe='')}:5432/faults"
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50)}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    token = tokens.new_secret()
    with psycopg.connect(server.url(), autocommit=True) as conn:
        user_id = conn.execute(
            "INSERT INTO tasks_user (password, is_superuser, username, is_staff, is_active, "
            "date_joined, full_name, email, created_at) VALUES ('!', false, 'faulty', false, "
            "true, now(), 'Fay Faulty', 'fay@example.com', now()) RETURNING id"
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO tasks_apitoken (user_id, prefix, digest, created, expires_at, "
            "revoked_reason) VALUES (%s, %s, %s, now(), now() + interval '1 day', '')",
            [user_id, tokens.prefix_of(token), tokens.digest_of(token)],
        )
        conn.execute(
            "INSERT INTO tasks_task (owner_id, title, description, completed, priority, "
            "created_at, updated_at) SELECT %s, 'task ' || g, '', false, 'low', now(), now() "
            "FROM generate_series(1, 20) g",
            [user_id],
        )
    yield FaultDB(server=server, url=url, token=token)
    server.stop()
    shutil.rmtree(base.parent, ignore_errors=True)


def app_env(db: FaultDB, **extra) -> dict:
    return {
        "DATABASE_URL": db.url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DB_APPLICATION_NAME": APP,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


@dataclass
class Result:
    started: float
    finished: float
    status: int  # 0 = no HTTP answer (connection error or client timeout)
    body: bytes
    content_type: str


def request(base: str, path: str, token: str | None = None, timeout: float = 20) -> Result:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    headers = {"Authorization": f"Token {token}"} if token else {}
    started = time.monotonic()
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        return Result(
            started, time.monotonic(), response.status, body, response.getheader("Content-Type", "")
        )
    except OSError:
        return Result(started, time.monotonic(), 0, b"", "")
    finally:
        conn.close()


def load(base: str, path: str, token: str, *, threads: int, seconds: float) -> list[Result]:
    """Bounded closed-loop load: ``threads`` clients for ``seconds``."""
    results: list[Result] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client():
        while time.monotonic() < stop:
            result = request(base, path, token, timeout=15)
            with lock:
                results.append(result)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def assert_json_503(result: Result):
    assert result.status == 503, result
    assert result.content_type.startswith("application/json")
    assert "detail" in json.loads(result.body)


@contextmanager
def table_locked(db: FaultDB):
    """Hold an exclusive lock on tasks_task: every query on it blocks until released."""
    conn = db.admin()
    conn.execute("BEGIN")
    conn.execute("LOCK TABLE tasks_task IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def test_killed_connections_recover_without_restarting_the_app(fault_db):
    with gunicorn("taskproject.wsgi:application", env=app_env(fault_db), workers=2) as base:
        assert request(base, "/api/tasks/", fault_db.token).status == 200
        results: list[Result] = []
        flowing = threading.Thread(
            target=lambda: results.extend(
                load(base, "/api/tasks/", fault_db.token, threads=4, seconds=6)
            )
        )
        flowing.start()
        time.sleep(1.5)
        killed_at = time.monotonic()
        assert fault_db.kill_app_connections() >= 1
        time.sleep(1.5)
        fault_db.kill_app_connections()
        flowing.join()

    assert results, "the client made no requests"
    # Nothing hung: every request got an HTTP answer.
    assert all(r.status != 0 for r in results)
    # Failures, if any, were clean JSON 503s, never HTML 500s.
    for failed in (r for r in results if r.status != 200):
        assert_json_503(failed)
    after = [r for r in results if r.started > killed_at + 3.5]
    assert after and all(r.status == 200 for r in after)
    recovery = [
        r.finished - killed_at for r in results if r.started > killed_at and r.status == 200
    ]
    print(
        f"\nkilled-connection recovery: first 200 {min(recovery):.3f} s after the kill; "
        f"{sum(r.status != 200 for r in results)} of {len(results)} requests failed"
    )


def test_stopped_server_gives_fast_503s_then_recovers(fault_db):
    with gunicorn("taskproject.wsgi:application", env=app_env(fault_db), workers=2) as base:
        assert request(base, "/api/tasks/", fault_db.token).status == 200
        fault_db.server.stop()
        try:
            down_health = request(base, "/health/")
            down_api = request(base, "/api/tasks/", fault_db.token)
        finally:
            stopped_at = time.monotonic()
            fault_db.server.ensure_running()
        started_at = time.monotonic()
        # Both answered (as 503 JSON) while the server was still down.
        assert down_health.finished <= stopped_at and down_api.finished <= stopped_at
        assert_json_503(down_health)
        assert json.loads(down_health.body)["database"] == "down"
        assert_json_503(down_api)

        deadline = time.monotonic() + 30
        while (health := request(base, "/health/")).status != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert health.status == 200
        assert request(base, "/api/tasks/", fault_db.token).status == 200
        print(f"\nrestart recovery: /health/ 200 {health.finished - started_at:.3f} s after start")


def assert_exhausted_pool_fails_fast(db: FaultDB, base: str, path: str) -> None:
    """Six concurrent callers, two connections, both stuck behind a lock: the other four get a
    503 while the pool is still exhausted (its timeout is 1 s), the two finish once the lock
    goes, and everything is 200 again afterwards."""
    assert request(base, path, db.token).status == 200
    results: list[Result] = []
    with table_locked(db):
        callers = threading.Thread(
            target=lambda: results.extend(load(base, path, db.token, threads=6, seconds=0.1))
        )
        callers.start()
        time.sleep(3)
        released_at = time.monotonic()
    callers.join()
    refused = [r for r in results if r.status == 503]
    assert len(refused) >= 4, results
    for result in refused:
        assert_json_503(result)
        assert result.finished < released_at  # answered while the pool was still exhausted
    # The two callers holding connections completed once the lock went away.
    assert [r.status for r in results if r.finished >= released_at] == [200, 200]
    time.sleep(0.5)
    after = load(base, path, db.token, threads=6, seconds=1)
    assert after and all(r.status == 200 for r in after)


def test_pool_exhaustion_fails_fast_then_recovers(fault_db):
    env = app_env(
        fault_db, DB_POOL="1", DB_POOL_MIN_SIZE="1", DB_POOL_MAX_SIZE="2", DB_POOL_TIMEOUT="1"
    )
    with gunicorn(
        "taskproject.wsgi:application", env=env, workers=1, kind="gthread", threads=6
    ) as base:
        assert_exhausted_pool_fails_fast(fault_db, base, "/api/tasks/")


def test_statement_timeout_stops_a_pathological_query(fault_db):
    env = app_env(fault_db, DB_STATEMENT_TIMEOUT_MS="500")
    with gunicorn("taskproject.wsgi:application", env=env, workers=1) as base:
        with table_locked(fault_db):
            blocked = request(base, "/api/tasks/", fault_db.token)
            released_at = time.monotonic()
        assert_json_503(blocked)
        assert blocked.finished < released_at
        assert request(base, "/api/tasks/", fault_db.token).status == 200


def test_asgi_async_endpoints_survive_kills_and_restart(fault_db):
    # The ASGI deployment (make run-asgi: uvicorn worker, Django's psycopg pool) and the async
    # views: the same guarantees as WSGI, through the async ORM's thread hops and the pool.
    env = app_env(
        fault_db, DB_POOL="1", DB_POOL_MIN_SIZE="1", DB_POOL_MAX_SIZE="4", DB_POOL_TIMEOUT="2"
    )
    path = "/api/async/tasks/"
    with gunicorn("taskproject.asgi:application", env=env, workers=1, kind="asgi") as base:
        assert request(base, path, fault_db.token).status == 200
        results: list[Result] = []
        flowing = threading.Thread(
            target=lambda: results.extend(load(base, path, fault_db.token, threads=4, seconds=5))
        )
        flowing.start()
        time.sleep(1.5)
        killed_at = time.monotonic()
        assert fault_db.kill_app_connections() >= 1
        flowing.join()
        assert results and all(r.status != 0 for r in results)
        for failed in (r for r in results if r.status != 200):
            assert_json_503(failed)
        after = [r for r in results if r.started > killed_at + 2]
        assert after and all(r.status == 200 for r in after)
        recovery = [
            r.finished - killed_at for r in results if r.started > killed_at and r.status == 200
        ]

        fault_db.server.stop()
        try:
            down_api = request(base, path, fault_db.token)
            down_health = request(base, "/health/")
        finally:
            stopped_at = time.monotonic()
            fault_db.server.ensure_running()
        started_at = time.monotonic()
        assert down_api.finished <= stopped_at and down_health.finished <= stopped_at
        assert_json_503(down_api)
        assert_json_503(down_health)
        deadline = time.monotonic() + 30
        while (back := request(base, path, fault_db.token)).status != 200:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert back.status == 200
        print(
            f"\nASGI killed-connection recovery: first 200 {min(recovery):.3f} s after the kill; "
            f"{sum(r.status != 200 for r in results)} of {len(results)} requests failed; "
            f"restart recovery: {path} 200 {back.finished - started_at:.3f} s after start"
        )


# --- the native async path and the socket health check (issue 11) --------------------------
SERVED = [
    pytest.param("taskproject.wsgi:application", "sync", "/api/tasks/", {}, id="wsgi"),
    pytest.param(
        "taskproject.asgi:application", "asgi", "/api/async/tasks/", {"DB_POOL": "1"}, id="asgi"
    ),
]


@pytest.mark.parametrize(("app", "kind", "path", "extra"), SERVED)
def test_connections_killed_between_requests_fail_no_request(fault_db, app, kind, path, extra):
    # The health check asks the idle connection's socket (taskproject.liveness): a terminated
    # backend has sent its FATAL and hung up, so the next request reconnects first, and answers
    # 200, not 503. Sync workers (CONN_HEALTH_CHECKS) and the async path's own pool alike.
    with gunicorn(app, env=app_env(fault_db, **extra), workers=1, kind=kind) as base:
        assert request(base, path, fault_db.token).status == 200
        for _ in range(4):
            assert fault_db.kill_app_connections() >= 1
            time.sleep(0.3)  # the termination reaches the idle sockets
            assert request(base, path, fault_db.token).status == 200


def test_native_async_pool_exhaustion_fails_fast_then_recovers(fault_db):
    # Six concurrent requests on one event loop, two native connections (taskproject.asyncdb).
    env = app_env(fault_db, DB_POOL="1", DB_ASYNC_POOL_MAX_SIZE="2", DB_POOL_TIMEOUT="1")
    with gunicorn("taskproject.asgi:application", env=env, workers=1, kind="asgi") as base:
        assert_exhausted_pool_fails_fast(fault_db, base, "/api/async/tasks/")


def test_native_async_statement_timeout(fault_db):
    env = app_env(fault_db, DB_POOL="1", DB_STATEMENT_TIMEOUT_MS="500")
    path = "/api/async/tasks/"
    with gunicorn("taskproject.asgi:application", env=env, workers=1, kind="asgi") as base:
        assert request(base, path, fault_db.token).status == 200
        with table_locked(fault_db):
            blocked = request(base, path, fault_db.token)
            released_at = time.monotonic()
        assert_json_503(blocked)
        assert blocked.finished < released_at
        assert request(base, path, fault_db.token).status == 200


def test_asgi_sync_views_give_their_pooled_connections_back(fault_db):
    # A sync view under ASGI (DRF, the admin, the session lookup) runs on the request's own
    # thread, where its Django connection lives; the response must be closed on that thread
    # (taskproject.handlers) or each such request keeps one pooled connection for good.
    env = app_env(
        fault_db, DB_POOL="1", DB_POOL_MIN_SIZE="1", DB_POOL_MAX_SIZE="2", DB_POOL_TIMEOUT="1"
    )
    with gunicorn("taskproject.asgi:application", env=env, workers=1, kind="asgi") as base:
        statuses = [request(base, "/api/tasks/", fault_db.token).status for _ in range(8)]
        statuses += [request(base, "/api/async/tasks/", fault_db.token).status for _ in range(2)]
        assert statuses == [200] * 10
