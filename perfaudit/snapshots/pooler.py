"""What the app can see of a connection pooler in front of the database (PgBouncer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perfaudit.snapshots.base import Record


@dataclass(frozen=True)
class ClientSetup(Record):
    """The Django side of one alias, as far as a transaction pooler cares."""

    transaction_pooler: bool
    startup_options: str | None
    server_side_cursors_disabled: bool
    server_side_binding: bool
    django_pool: bool


@dataclass(frozen=True)
class ServerBackends(Record):
    client_addr: str | None  # None: over a Unix socket
    application: str
    state: str
    connections: int


@dataclass(frozen=True)
class PoolerSnapshot(Record):
    client: ClientSetup
    backends: list[ServerBackends] = field(default_factory=list)
    admin_configured: bool = False
    admin_error: str | None = None
    pools: list[dict[str, Any]] = field(default_factory=list)
    databases: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, str] = field(default_factory=dict)

    def pool_size_for(self, database: str) -> int | None:
        """Server connections the pooler may open to ``database`` (None: unknown)."""
        for row in self.databases:
            if row.get("name") == database and row.get("pool_size") not in (None, ""):
                size = int(row["pool_size"])
                cap = int(row.get("max_connections") or 0)
                return min(size, cap) if cap else size
        if "default_pool_size" in self.config:
            size = int(self.config["default_pool_size"])
            cap = int(self.config.get("max_db_connections") or 0)
            return min(size, cap) if cap else size
        return None

    @property
    def max_client_conn(self) -> int | None:
        value = self.config.get("max_client_conn")
        return int(value) if value not in (None, "") else None
