"""What the index advisor reads before judging (statements, tables, column statistics, indexes,
models, extensions) and what its what-if step measured."""

from __future__ import annotations

from dataclasses import dataclass, field

from perfaudit.snapshots.base import Record, Snapshot
from perfaudit.snapshots.declared import ModelRef
from perfaudit.snapshots.indexes import IndexSnapshot
from perfaudit.snapshots.plans import PlannedCost
from perfaudit.snapshots.server import ServerInfo
from perfaudit.snapshots.statements import StatementsStatus


@dataclass(frozen=True)
class AdvisorStatement(Record):
    sql: str
    source: str  # pg_stat_statements | sql | url <path>
    queryid: int | None = None
    calls: int | None = None
    total_ms: float | None = None
    mean_ms: float | None = None


@dataclass(frozen=True)
class Extensions(Record):
    hypopg_installed: bool
    hypopg_available: bool
    pg_trgm_installed: bool


@dataclass(frozen=True)
class ColumnFacts(Record):
    name: str
    type: str = "text"
    null_frac: float | None = None
    #: pg_stats semantics: > 0 a count, < 0 minus the fraction of rows (-1 = unique).
    n_distinct: float | None = None
    mcv: tuple[str, ...] = ()  # most common values, as text
    mcf: tuple[float, ...] = ()  # their frequencies
    avg_width: int | None = None


@dataclass(frozen=True)
class ExistingIndex(Record):
    name: str
    method: str
    #: Key columns, or the deparsed expression (pg_get_indexdef per position) for expressions.
    keys: tuple[str, ...]
    descending: tuple[bool, ...] = ()
    opclasses: tuple[str, ...] = ()
    predicate: str | None = None
    unique: bool = False
    primary: bool = False
    valid: bool = True
    expression_positions: tuple[bool, ...] = ()
    #: Declared by a model but missing from the database (auditindexes' drift): not there,
    #: yet the index to restore for a statement it would serve (rules.advisor.audit).
    restore: bool = False


@dataclass(frozen=True)
class TableFacts(Record):
    name: str
    rows: float
    size_bytes: int = 0
    columns: dict[str, ColumnFacts] = field(default_factory=dict)
    indexes: tuple[ExistingIndex, ...] = ()
    #: n_tup_ins + n_tup_upd + n_tup_del since the statistics reset.
    writes: int = 0
    inserts: int = 0
    updates: int = 0


@dataclass(frozen=True)
class ModelFields(Record):
    """The model a project migration can change for a table, and its fields by column (the
    advisor names indexes and writes ``Meta.indexes`` entries in the model's own terms)."""

    model: ModelRef
    #: column -> field name, for the model's concrete fields.
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AdvisorSelection(Record):
    """The statements to advise on: typed ones, those a request ran, and the application's
    top ``top`` entries of pg_stat_statements (by total time, called ``min_calls`` times)."""

    sqls: tuple[str, ...] = ()
    #: (source, statement) pairs from urlcapture.capture_request, e.g. ("url /api/", "SELECT ...").
    captured: tuple[tuple[str, str], ...] = ()
    top: int = 0
    min_calls: int = 1
    #: Table prefixes of the profiler's bookkeeping (silk): never application statements.
    profiler_prefixes: tuple[str, ...] = ()
    #: Read auditindexes' snapshot too (False when the audit itself asks).
    with_audit: bool = True


@dataclass(frozen=True)
class AdvisorSnapshot(Snapshot):
    KIND = "advisor"

    server: ServerInfo
    extensions: Extensions
    statements: tuple[AdvisorStatement, ...]
    #: Facts of every table the statements read (on the search path).
    tables: dict[str, TableFacts] = field(default_factory=dict)
    #: Table -> its model, for models a project migration can change.
    models: dict[str, ModelFields] = field(default_factory=dict)
    #: pg_stat_statements' status when top statements were asked for.
    statements_status: StatementsStatus | None = None
    selection: AdvisorSelection = field(default_factory=AdvisorSelection)
    #: What auditindexes reads (its verdicts are the advisor's too: rules.advisor.audit).
    audit: IndexSnapshot | None = None


@dataclass(frozen=True)
class PlanTarget(Record):
    """A statement the what-if step plans: its number in the report and its $n count (a
    generic plan when there are any)."""

    number: int
    sql: str
    nparams: int = 0


@dataclass(frozen=True)
class WhatIfIndex(Record):
    """A candidate index the what-if step tries on the statements it may serve."""

    number: int
    name: str
    method: str  # btree | gin | ...
    statements: tuple[int, ...]
    #: For hypopg_create_index (HypoPG plans B-trees, not GIN).
    hypothetical_sql: str
    #: A real build, rolled back (with CREATE EXTENSION pg_trgm when the index needs it).
    build_sql: tuple[str, ...]
    #: The table's size (pg_total_relation_size): small tables are verified by a build.
    table_bytes: int = 0


@dataclass(frozen=True)
class IndexTrial(Record):
    """One candidate index planned against its statements (HypoPG or a rolled-back build)."""

    candidate: int
    verified_by: str  # hypopg | build
    index_name: str
    size_bytes: int | None
    #: statement number -> the plan with the index available.
    plans: dict[int, PlannedCost] = field(default_factory=dict)


@dataclass(frozen=True)
class Verification(Snapshot):
    """What the what-if step measured: each statement's plan cost as it is, and each
    candidate's trial (or why it could not be tried)."""

    KIND = "advisor_verification"

    mode: str  # hypopg | build | unverified
    #: statement number -> the plan without any new index.
    before: dict[int, PlannedCost] = field(default_factory=dict)
    #: statement number -> why EXPLAIN failed.
    explain_errors: dict[int, str] = field(default_factory=dict)
    trials: tuple[IndexTrial, ...] = ()
    #: candidate number -> why its trials failed (a timeout, HypoPG refusing GIN, ...).
    trial_errors: dict[int, tuple[str, ...]] = field(default_factory=dict)
