"""How one route declaration (tasks/routes.py) is served by both servers.

A route's handler is a generator written once: it parses the query, checks permissions, and
*yields* each I/O step (an ``Op``: a statement, a cached figure, a service call), gets the step's
result back, and returns the response data. The sync serving (tasks/views.py, DRF under WSGI)
drives it with ``drive``: each op's ``run`` on Django's connections. The native async serving
(tasks/async_views.py, ASGI) drives it with ``adrive``: each op's ``arun`` awaited on the event
loop (taskproject.asyncdb), no thread hop. So a route's query, output shape, permission checks
and errors exist once; only the execution of each step differs, and that lives here, once per
kind of step.

Reads go where taskproject.replicas says on both servers (a replica, unless the user wrote
recently); a statement that fails on a replica is run again on the primary.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from asgiref.sync import sync_to_async
from django.db import DEFAULT_DB_ALIAS, connections, router
from psycopg.types.datetime import TimestamptzLoader

from taskproject import asyncdb, replicas


@contextmanager
def hot_cursor(alias: str):
    """The cursor for the fixed statements of the hot paths: prepared once per connection
    (taskproject.db_backend's ``prepared_cursor``), rows with psycopg's own timestamptz loader
    (C-accelerated) instead of Django's Python subclass, which only swaps the UTC tzinfo
    object (~150 datetimes a page made it ~0.4 ms); correct because Django keeps the session in
    UTC. The native async connections use the same loader (taskproject.asyncdb)."""
    with connections[alias].prepared_cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        yield cursor


class Op:
    """One I/O step of a route, runnable by either server."""

    def run(self):
        raise NotImplementedError

    async def arun(self):
        raise NotImplementedError


@dataclass
class Statement(Op):
    """One fixed statement and the function that shapes its rows (a list of tuples) into data.

    ``routed``: a read a replica may serve (taskproject.replicas); otherwise the primary (token
    lookups: a revoked token must fail at once)."""

    sql: str
    params: list | tuple
    shape: Callable[[list[tuple]], Any]
    routed: bool = True

    def run(self):
        # The raw cursor asks the router like a queryset would (a replica for a GET, see
        # taskproject/replicas.py; the only alias when there are none).
        from tasks.models import Task

        alias = router.db_for_read(Task) if self.routed else DEFAULT_DB_ALIAS
        with hot_cursor(alias) as cursor:
            cursor.execute(self.sql, self.params)
            return self.shape(cursor.fetchall())

    async def arun(self):
        alias = await replicas.aread_alias() if self.routed else DEFAULT_DB_ALIAS
        try:
            rows = await asyncdb.fetchall(self.sql, self.params, alias=alias)
        except psycopg.OperationalError as exc:
            if alias == DEFAULT_DB_ALIAS:
                raise
            # The replica went away since its last status check: a fallback, not a 503.
            replicas.replica_failed(alias, exc)
            rows = await asyncdb.fetchall(self.sql, self.params)
        return self.shape(rows)


@dataclass
class Service(Op):
    """A write through tasks.services (ORM, transactions). Under ASGI it runs on Django's
    database thread, as every async ORM call does."""

    function: Callable[..., Any]
    kwargs: dict = field(default_factory=dict)

    def run(self):
        return self.function(**self.kwargs)

    async def arun(self):
        return await sync_to_async(self.function)(**self.kwargs)


@dataclass
class Call:
    """What a route's handler sees of its request, the same on both servers."""

    request: Any  # Django's HttpRequest (async) or DRF's Request (sync): .GET and .path
    user: Any
    kwargs: dict
    # Data read in the statement that authenticated the request (tasks.authentication), or None.
    merged: Any = None
    # The parsed JSON body (DRF's parsers, or orjson on the async server).
    body: Callable[[], Any] = lambda: None

    @property
    def query(self):
        return self.request.GET


Handler = Callable[[Call], Generator[Op, Any, Any]]


def drive(steps: Generator[Op, Any, Any]):
    """Run a handler's steps synchronously; its return value."""
    try:
        op = next(steps)
        while True:
            op = steps.send(op.run())
    except StopIteration as done:
        return done.value


async def adrive(steps: Generator[Op, Any, Any]):
    """Run a handler's steps on the event loop; its return value."""
    try:
        op = next(steps)
        while True:
            op = steps.send(await op.arun())
    except StopIteration as done:
        return done.value
