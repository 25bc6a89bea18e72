"""The Sessions page and ``dbconnections``' session list: every client backend, what it is
doing, for how long, and who it waits for."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from perfaudit.snapshots.base import Record, Snapshot
from perfaudit.snapshots.server import ServerInfo


@dataclass(frozen=True)
class Backend(Record):
    pid: int
    database: str | None
    user: str | None
    application: str
    #: The client's address, None over a Unix socket.
    client: str | None
    state: str | None
    wait_event_type: str | None
    wait_event: str | None
    #: backend_start in microseconds since the epoch: with the pid, names one session (a pid is
    #: reused by a later session; a signal must reach the one the person saw).
    started_us: int
    query_start: dt.datetime | None
    #: Seconds since the query / the transaction / the last state change started.
    query_seconds: float | None
    xact_seconds: float | None
    state_seconds: float | None
    #: The statement without its values (sqltext.without_literals; the first QUERY_CHARS
    #: characters before that; PostgreSQL's own limit is
    #: track_activity_query_size). "<insufficient privilege>" for other roles' sessions when the
    #: auditing role may not read them (pg_read_all_stats).
    query: str | None
    #: pg_blocking_pids(): the sessions it waits for (read only for sessions waiting on a lock).
    blocked_by: tuple[int, ...]
    #: The auditing connection itself (pg_backend_pid()).
    own: bool
    #: Connected to the audited database (not another database of the same server).
    same_database: bool


@dataclass(frozen=True)
class SessionsSelection(Record):
    #: At most this many sessions, the busiest first (not idle, then the oldest transaction).
    limit: int = 500


@dataclass(frozen=True)
class SessionsSnapshot(Snapshot):
    KIND = "sessions"

    server: ServerInfo
    database: str
    backends: tuple[Backend, ...]
    #: Client backends on the server (all databases), beyond the ``limit`` listed.
    total: int = 0
    selection: SessionsSelection = SessionsSelection()
