"""Shared by the PgBouncer and replica tests: a primary of their own, users, a tiny HTTP client.

The primary is a separate embedded PostgreSQL 18 (never the dev or test database), started for
the test session whatever DATABASE_URL says: PgBouncer and pg_basebackup need a server the
tests control, and the embedded one is always available. CI's second run (DATABASE_URL at the
system PostgreSQL 15) therefore exercises these tests exactly like the first.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import psycopg

from taskproject.embedded_db import ROOT, EmbeddedServer
from tasks import tokens


@dataclass
class Account:
    id: int
    username: str
    token: str


@dataclass
class Primary:
    server: EmbeddedServer
    dbname: str
    accounts: dict[str, Account] = field(default_factory=dict)

    @property
    def url(self) -> str:
        host = quote(str(self.server.socket_dir), safe="")
        return f"postgresql://postgres@{host}:5432/{self.dbname}"

    def admin(self):
        return psycopg.connect(self.server.url(self.dbname), autocommit=True)


def migrate_and_seed(server: EmbeddedServer, dbname: str) -> Primary:
    url = f"postgresql://postgres@{quote(str(server.socket_dir), safe='')}:5432/{dbname}"
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50)}
    for name in ("DB_TRANSACTION_POOLER", "DATABASE_REPLICA_URLS", "DB_POOL"):
        env.pop(name, None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    primary = Primary(server=server, dbname=dbname)
    with primary.admin() as conn:
        for username, staff in (("writer", False), ("reader", False), ("boss", True)):
            token = tokens.new_secret()
            user_id = conn.execute(
                "INSERT INTO tasks_user (password, is_superuser, username, is_staff, is_active, "
                "date_joined, full_name, email, created_at) VALUES ('!', false, %s, %s, true, "
                "now(), %s, %s, now()) RETURNING id",
                [username, staff, username.title(), f"{username}@example.com"],
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
            primary.accounts[username] = Account(user_id, username, token)
    return primary


def test_database_url(dbname: str | None = None) -> str:
    """The URL of the database the tests use (or another on its server), for a subprocess or a
    server started by a test."""
    from django.db import connection

    s = connection.settings_dict
    user = quote(s.get("USER") or "postgres", safe="")
    password = f":{quote(s['PASSWORD'], safe='')}" if s.get("PASSWORD") else ""
    host = quote(str(s.get("HOST") or "localhost"), safe="")
    return f"postgresql://{user}{password}@{host}:{s.get('PORT') or 5432}/{dbname or s['NAME']}"


test_database_url.__test__ = False  # a helper, not a test, for pytest


def app_env(database_url: str, **extra) -> dict:
    return {
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


@dataclass
class Reply:
    status: int  # 0 = no HTTP answer
    body: bytes
    headers: dict

    def json(self):
        return json.loads(self.body)


def call(base: str, method: str, path: str, token: str | None = None, body=None) -> Reply:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Authorization": f"Token {token}"} if token else {}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return Reply(response.status, response.read(), dict(response.getheaders()))
    except OSError:
        return Reply(0, b"", {})
    finally:
        conn.close()


def run_clients(count: int, seconds: float, work) -> list:
    """``count`` threads calling ``work(n)`` in a loop for ``seconds``; every result."""
    results: list = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(n):
        while time.monotonic() < stop:
            result = work(n)
            with lock:
                results.append(result)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
