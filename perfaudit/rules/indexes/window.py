"""How the "unused" rule names the evidence window it judged over."""

from __future__ import annotations

from perfaudit.snapshots.server import EvidenceWindow


def window_source(window: EvidenceWindow) -> str:
    for key, label in (
        ("stats_reset", "statistics reset"),
        ("first_migration", "first migration applied"),
        ("postmaster_start", "server start: PostgreSQL < 15 resets statistics on restart"),
    ):
        if window.sources.get(key) == window.start:
            return label
    return "unknown"
