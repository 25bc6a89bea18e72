"""The floor: the least a Python WSGI server can do to answer GET /api/tasks/ with the same JSON.

No framework. Per request: parse the ``Authorization: Token <secret>`` header, hash it, run the
same two statements the API runs (live token by digest -> user, then the keyset page of 50
newest tasks), build the same
dicts and serialize them with orjson (the same options as tasks.renderers). One psycopg
connection per worker process, reused; psycopg prepares both statements after a few runs, as
Django's connection would not. Django's number is measured against this, under the same
gunicorn settings (docs/api.md, "Throughput").

    gunicorn benchmarks.floor_app:application --workers 2 --bind 127.0.0.1:8001

The database comes from DATABASE_URL, else the project's embedded PostgreSQL (var/pg). With
DB_TRANSACTION_POOLER=1 (DATABASE_URL is then a PgBouncer in transaction mode) nothing is
prepared, as the app does behind a pooler (taskproject/settings.py): the PgBouncer scenarios
compare what each keeps through the same pooler.
It is a benchmark baseline, not an endpoint: no pagination links beyond the first page, no
filters, no error handling beyond 401.
"""

from __future__ import annotations

import hashlib
import os

import orjson
import psycopg

OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
AUTH_SQL = (
    'SELECT u.id, u.is_active FROM "tasks_apitoken" t JOIN "tasks_user" u ON u.id = t.user_id '
    "WHERE t.digest = %s AND t.revoked_at IS NULL AND t.expires_at > statement_timestamp()"
)
FIELDS = (
    "id",
    "owner_id",
    "title",
    "description",
    "completed",
    "completed_at",
    "priority",
    "due_date",
    "created_at",
    "updated_at",
)
PAGE_SQL = (
    f"SELECT {', '.join(FIELDS)} FROM tasks_task WHERE owner_id = %s "
    "ORDER BY created_at DESC, id DESC LIMIT %s"
)
PAGE_SIZE = 50
UNAUTHORIZED = orjson.dumps({"detail": "Authentication credentials were not provided."})

_connection: psycopg.Connection | None = None


def _conninfo() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from taskproject.embedded_db import DEFAULT_BASE, EmbeddedServer

    return EmbeddedServer(base=DEFAULT_BASE).url()


def _db() -> psycopg.Connection:
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(_conninfo(), autocommit=True)
        if os.environ.get("DB_TRANSACTION_POOLER") == "1":
            _connection.prepare_threshold = None
    return _connection


def _encode_cursor(created_at, pk) -> str:
    import base64

    raw = f"{created_at.isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def application(environ, start_response):
    parts = environ.get("HTTP_AUTHORIZATION", "").split()
    db = _db()
    user = None
    if len(parts) == 2 and parts[0].lower() == "token":
        digest = hashlib.sha256(parts[1].encode()).hexdigest()
        user = db.execute(AUTH_SQL, (digest,)).fetchone()
    if user is None or not user[1]:
        start_response("401 Unauthorized", [("Content-Type", "application/json")])
        return [UNAUTHORIZED]
    rows = db.execute(PAGE_SQL, (user[0], PAGE_SIZE + 1)).fetchall()
    results = [dict(zip(FIELDS, row, strict=True)) for row in rows[:PAGE_SIZE]]
    next_cursor = None
    next_link = None
    if len(rows) > PAGE_SIZE:
        last = results[-1]
        next_cursor = _encode_cursor(last["created_at"], last["id"])
        next_link = f"{environ.get('PATH_INFO', '/')}?cursor={next_cursor}"
    body = orjson.dumps(
        {"next": next_link, "next_cursor": next_cursor, "results": results}, option=OPTIONS
    )
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
