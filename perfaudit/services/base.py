"""What every service shares: the checked connection and the report envelope."""

from __future__ import annotations

from django.db import DatabaseError, connections
from django.db.utils import ConnectionDoesNotExist
from django.utils import timezone

from perfaudit.catalog.declared import package_tables
from perfaudit.conf import acknowledgements
from perfaudit.errors import ServiceError, one_line
from perfaudit.findings import DatabaseRef, Finding, acknowledge, sort_findings
from perfaudit.snapshots.server import ServerInfo


def get_connection(using: str):
    try:
        connection = connections[using]
    except ConnectionDoesNotExist:
        raise ServiceError(
            f"unknown database alias {using!r} (settings.DATABASES has: "
            f"{', '.join(connections.settings)})"
        ) from None
    if connection.vendor != "postgresql":
        raise ServiceError(f"database {using!r} is {connection.vendor}; perfaudit needs PostgreSQL")
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        raise ServiceError(f"cannot connect to database {using!r}: {one_line(exc)}") from None
    return connection


def envelope(connection, info: ServerInfo, findings: list[Finding]) -> dict:
    """The keyword arguments every Report starts with: when, which database, sorted findings,
    and which of their tables belong to installed packages (the pages group those)."""
    packages = package_tables()
    return {
        "package_apps": {f.table: packages[f.table] for f in findings if f.table in packages},
        "generated_at": timezone.now(),
        "database": DatabaseRef(
            vendor=info.vendor,
            version=info.version,
            stats_reset=info.stats_reset,
            alias=connection.alias,
            name=info.database,
        ),
        "findings": acknowledge(sort_findings(findings), acknowledgements()),
    }
