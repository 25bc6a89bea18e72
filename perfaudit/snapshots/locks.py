"""Who blocks whom: sessions waiting for a lock, and the sessions holding it."""

from __future__ import annotations

from dataclasses import dataclass

from perfaudit.snapshots.base import Record


@dataclass(frozen=True)
class Session(Record):
    pid: int
    user: str | None
    application: str
    state: str | None
    query: str | None
    #: Seconds since the current (or last) query started / the transaction started.
    query_seconds: float | None
    xact_seconds: float | None


@dataclass(frozen=True)
class BlockedQuery(Record):
    blocked: Session
    wait_event_type: str | None
    wait_event: str | None
    #: What it waits for: the relation (schema-qualified when needed) or the lock type.
    locked_item: str | None
    mode: str | None  # the lock mode it asked for
    blockers: tuple[Session, ...]


@dataclass(frozen=True)
class LocksSnapshot(Record):
    blocked: tuple[BlockedQuery, ...]
