"""What the catalog adds to one EXPLAIN the sandbox ran: its tables' row estimates."""

from __future__ import annotations

from perfaudit.catalog import server
from perfaudit.snapshots.plans import Explained, PlanSnapshot, relations


def collect(connection, explained: Explained) -> PlanSnapshot:
    """``explained`` (sandbox.explain's result) selects the tables: those its plan reads."""
    return PlanSnapshot(
        explained=explained,
        table_rows=server.table_rows(connection, relations(explained.plan)),
    )
