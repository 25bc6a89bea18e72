"""Native async PostgreSQL for the hot async endpoints: no thread hop per query.

Django 5.2's async ORM runs every query on a thread (``sync_to_async``): two thread hops per
statement, on top of the event loop. The async views of tasks/async_views.py run their fixed
statements (the same ``Statement``s the sync views run, tasks/serving.py) here instead, on
psycopg ``AsyncConnection``s, awaited on the event loop. Everything else keeps the ORM.

One small pool per event loop and database alias (uvicorn: one loop per worker process, so one
pool per worker and database; a read replica's reads go to its own, taskproject.replicas): up to
``DB_ASYNC_POOL_MAX_SIZE`` connections, a caller waiting longer than ``DB_POOL_TIMEOUT``
for one gets ``PoolTimeout`` (a 503, like Django's pool). The connections are made from the
alias's Django settings, as Django would make them: the same conninfo, application name,
connect timeout, startup statement timeout (direct connections) or none (behind a transaction
pooler, where the role-level timeout applies, docs/scaling.md), UTC sessions and Django's type
adapters, so rows come back as the sync path sees them. Autocommit: every statement here is one
read, or the idempotent ``last_used_at`` write.

Liveness: an idle connection is checked on its socket before reuse (taskproject.liveness, no
round trip); a statement that still fails because its connection broke is run once more on a
fresh connection (all statements here are idempotent). A database that is down raises
``psycopg.OperationalError``, which the async views answer with the same 503 JSON as the sync
ones (taskproject.middleware.database_unavailable_response).

Why not psycopg_pool.AsyncConnectionPool: its background workers belong to one event loop, and
Django's AsyncClient (tests) runs each request on a new loop; this pool is ~100 lines whose
every path the tests exercise, and it closes connections a closed loop left behind.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import pq
from psycopg.types.datetime import TimestamptzLoader

from perfaudit.recording import record_statement
from taskproject.liveness import looks_alive


class PoolTimeout(psycopg.OperationalError):
    """No connection became free within DB_POOL_TIMEOUT seconds."""


def connection_params(alias: str = DEFAULT_DB_ALIAS) -> dict:
    """psycopg.connect() keywords for ``alias``, from Django's own backend."""
    params = dict(connections[alias].get_connection_params())
    params.pop("cursor_factory", None)  # Django's sync ClientCursor
    # Prepared statements need a server connection of our own: direct, not a transaction pooler
    # (PgBouncer 1.18 cannot route them). Direct, the hot statements are parsed and planned once
    # per connection, as the floor benchmark's psycopg connection does.
    params["prepare_threshold"] = None if settings.DB_TRANSACTION_POOLER else 5
    return params


async def _connect(params: dict) -> psycopg.AsyncConnection:
    conn = await psycopg.AsyncConnection.connect(**params, autocommit=True)
    # psycopg's C timestamptz loader, as the sync task page uses (Django's subclass only swaps
    # the UTC tzinfo object); correct because the session is in UTC, which Django ensures too.
    conn.adapters.register_loader("timestamptz", TimestamptzLoader)
    if conn.info.parameter_status("TimeZone") != "UTC":
        # A parameter PgBouncer tracks per client, so this holds behind a transaction pooler.
        await conn.execute("SET TIME ZONE 'UTC'")
    return conn


def _discard(conn: psycopg.AsyncConnection) -> None:
    # Synchronous and loop-free: also used for connections of a loop that no longer runs.
    if not conn.closed:
        conn.pgconn.finish()


class LoopPool:
    def __init__(self, params: dict, *, max_size: int, timeout: float):
        self.params = params
        self.max_size = max_size
        self.timeout = timeout
        self.idle: deque[psycopg.AsyncConnection] = deque()
        self.slots = asyncio.Semaphore(max_size)

    async def acquire(self) -> tuple[psycopg.AsyncConnection, bool]:
        """A connection and whether it was reused (a fresh one is not retried)."""
        try:
            async with asyncio.timeout(self.timeout):
                await self.slots.acquire()
        except TimeoutError:
            raise PoolTimeout(
                f"no database connection free within {self.timeout:g} s "
                f"({self.max_size} in use, DB_ASYNC_POOL_MAX_SIZE)"
            ) from None
        try:
            while self.idle:
                conn = self.idle.pop()
                if looks_alive(conn):
                    return conn, True
                _discard(conn)
            return await _connect(self.params), False
        except BaseException:
            self.slots.release()
            raise

    def release(self, conn: psycopg.AsyncConnection) -> None:
        if looks_alive(conn) and conn.info.transaction_status == pq.TransactionStatus.IDLE:
            self.idle.append(conn)
        else:
            _discard(conn)
        self.slots.release()

    def close(self) -> None:
        while self.idle:
            _discard(self.idle.pop())


_pools: dict[tuple[asyncio.AbstractEventLoop, str], LoopPool] = {}


def pool(alias: str = DEFAULT_DB_ALIAS) -> LoopPool:
    loop = asyncio.get_running_loop()
    found = _pools.get((loop, alias))
    if found is None:
        for old in [key for key in _pools if key[0].is_closed()]:
            _pools.pop(old).close()
        found = _pools[loop, alias] = LoopPool(
            connection_params(alias),
            max_size=settings.DB_ASYNC_POOL_MAX_SIZE,
            timeout=settings.DB_POOL_TIMEOUT,
        )
    return found


def close_all() -> None:
    """Close every pool's idle connections (test teardown: a database being dropped)."""
    while _pools:
        _pools.popitem()[1].close()


async def _run(sql: str, params, fetch: str, alias: str):
    pool_ = pool(alias)
    for attempt in (1, 2):
        conn, reused = await pool_.acquire()
        start = time.perf_counter()
        try:
            cursor = await conn.execute(sql, params)
            if fetch == "all":
                result = await cursor.fetchall()
            else:
                result = cursor.rowcount
        except psycopg.OperationalError:
            # Broken under us (killed, restarted): once more on a fresh connection. A query
            # error on a live connection (statement timeout included) is not retried.
            if attempt == 1 and reused and conn.broken:
                continue
            raise
        finally:
            pool_.release(conn)
            record_statement(
                sql,
                params,
                alias=alias,
                duration_ms=(time.perf_counter() - start) * 1000,
            )
        return result
    raise AssertionError("unreachable")  # pragma: no cover


async def fetchall(sql: str, params=(), *, alias: str = DEFAULT_DB_ALIAS) -> list[tuple]:
    return await _run(sql, params, "all", alias)


async def execute(sql: str, params=()) -> int:
    """A write (on the primary); returns the row count."""
    return await _run(sql, params, "rowcount", DEFAULT_DB_ALIAS)
