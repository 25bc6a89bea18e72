"""Streaming replication as one database sees it: its role, its standbys or its WAL receiver.

The LSN and lag columns are NULL unless the role is superuser or has ``pg_monitor``;
``visible`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from perfaudit.snapshots.base import Record


@dataclass(frozen=True)
class Standby(Record):
    """A standby streaming from this primary (a row of pg_stat_replication)."""

    application_name: str
    client_addr: str | None
    state: str | None
    sync_state: str | None
    sent_lsn: str | None
    replay_lsn: str | None
    lag_bytes: int | None  # pg_current_wal_lsn() - replay_lsn
    write_lag_seconds: float | None
    flush_lag_seconds: float | None
    replay_lag_seconds: float | None
    reply_age_seconds: float | None  # since the standby last reported


@dataclass(frozen=True)
class WalReceiver(Record):
    """This standby's WAL receiver and replay position."""

    status: str | None  # streaming, stopping, ... (None: no receiver running)
    sender_host: str | None
    sender_port: int | None
    receive_lsn: str | None
    replay_lsn: str | None
    lag_bytes: int | None  # received but not yet replayed
    replay_age_seconds: float | None  # now() - pg_last_xact_replay_timestamp()
    last_message_age_seconds: float | None
    replay_paused: bool


@dataclass(frozen=True)
class ReplicationSnapshot(Record):
    alias: str
    role: str  # "primary" | "standby" | "unreachable"
    current_lsn: str | None = None
    standbys: list[Standby] = field(default_factory=list)
    receiver: WalReceiver | None = None
    visible: bool = True
    error: str | None = None
