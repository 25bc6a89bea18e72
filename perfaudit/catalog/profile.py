"""What the catalog adds to one timed statement (sandbox.time_query): the server it ran on."""

from __future__ import annotations

from perfaudit.catalog import server
from perfaudit.snapshots.profile import ProfileSnapshot, QueryProfile


def collect(connection, profile: QueryProfile) -> ProfileSnapshot:
    return ProfileSnapshot(server=server.server_info(connection), sql=profile.sql, profile=profile)
