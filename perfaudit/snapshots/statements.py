"""pg_stat_statements: the extension's status, the listed entries and those the rules judge."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from perfaudit.snapshots.base import Record, Snapshot
from perfaudit.snapshots.server import ServerInfo


@dataclass(frozen=True)
class StatementsStatus(Record):
    available: bool  # the server has the extension's files
    installed: bool  # CREATE EXTENSION done in this database
    preloaded: bool  # in shared_preload_libraries (needed to collect anything)
    stats_reset: dt.datetime | None = None
    deallocations: int | None = None

    @property
    def usable(self) -> bool:
        return self.installed and self.preloaded

    def how_to_enable(self) -> str:
        steps = []
        if not self.available:
            steps.append("install the PostgreSQL contrib package on the server")
        if not self.preloaded:
            steps.append(
                "set shared_preload_libraries = 'pg_stat_statements' in postgresql.conf "
                "and restart PostgreSQL"
            )
        if not self.installed:
            steps.append("run CREATE EXTENSION pg_stat_statements; in this database")
        return "; then ".join(steps)


@dataclass(frozen=True)
class Statement(Record):
    queryid: int
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    max_ms: float
    rows: int
    shared_hit: int
    shared_read: int
    #: This statement's share of the total execution time of every statement of the database.
    time_share: float | None = None
    #: Who runs it (perfaudit.origin.ORIGINS): the application, or a tool around it.
    origin: str = "app"

    @property
    def hit_ratio(self) -> float | None:
        total = self.shared_hit + self.shared_read
        return self.shared_hit / total if total else None


@dataclass(frozen=True)
class HiddenGroup(Record):
    """Statements of one origin the listing leaves out (shown with ``show_all``)."""

    origin: str
    label: str
    statements: int
    total_ms: float


@dataclass(frozen=True)
class Flaggable(Record):
    """Which entries the slow-query rules get to judge, whatever the listing shows: called at
    least ``min_calls`` times, and slow (mean at least ``min_mean_ms``) or taking at least
    ``min_share`` of the total time. None turns a condition off."""

    min_mean_ms: float | None = None
    min_calls: int = 1
    min_share: float | None = None
    limit: int = 50


@dataclass(frozen=True)
class StatementsSelection(Record):
    """The listing (filters, order, size, origins shown) and the entries the rules judge."""

    min_mean_ms: float = 0.0
    min_calls: int = 1
    order: str = "total"  # total | mean | calls
    limit: int | None = 20
    #: List the tools' statements too (profiler tables, catalog reads, DDL, transactions).
    show_all: bool = False
    #: Table prefixes of the profiler's bookkeeping (silk), for the origin of each statement.
    profiler_prefixes: tuple[str, ...] = ()
    flaggable: Flaggable = field(default_factory=Flaggable)


@dataclass(frozen=True)
class StatementsSnapshot(Snapshot):
    KIND = "statements"

    server: ServerInfo
    status: StatementsStatus
    #: The listing: empty when the extension is not usable (nothing to read).
    statements: list[Statement] = field(default_factory=list)
    #: Execution time of every entry of this database (the base of "% of total time").
    total_ms: float = 0.0
    #: What the slow-query rules judge, whatever the listing shows (selection.flaggable).
    candidates: list[Statement] = field(default_factory=list)
    #: What the listing leaves out, by origin (empty with show_all).
    hidden: list[HiddenGroup] = field(default_factory=list)
    selection: StatementsSelection = field(default_factory=StatementsSelection)

    @property
    def server_version_num(self) -> int:
        return self.server.version_num


@dataclass(frozen=True)
class GenericPlanChecks(Snapshot):
    """What ``EXPLAIN (GENERIC_PLAN)`` said of flagged statements' normalized texts (the
    sandbox's probe), so the printed explain command is known to run, or said not to."""

    KIND = "generic_plans"

    #: queryid -> the error (absent: the generic plan was produced, or it was not checked).
    errors: dict[int, str] = field(default_factory=dict)
    checked: tuple[int, ...] = ()
