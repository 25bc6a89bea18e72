"""What the advisor concludes, per statement and per suggested index (the JSON contract of
``adviseindexes``' ``statements`` and ``suggestions``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perfaudit.operations import FixOperation
from perfaudit.rules.advisor.facts import Candidate


@dataclass(frozen=True)
class StatementResult:
    number: int
    sql: str
    source: str
    calls: int | None = None
    total_ms: float | None = None
    cost_before: float | None = None
    generic_plan: bool = False
    #: Existing indexes that already cover a candidate for it (nothing to suggest).
    served_by: list[str] = field(default_factory=list)
    #: Why it got no suggestion, or why it was not analyzed.
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Suggestion:
    table: str
    columns: list[str]
    using: str
    where: str | None
    expression: str | None
    name: str
    cost_before: float | None
    cost_after: float | None
    statements: list[dict]
    write_cost: dict
    verified: bool
    verified_by: str | None
    sql: str
    replaces: list[str] = field(default_factory=list)
    needs_extension: str | None = None
    #: Why an unverified candidate could not be verified (e.g. a trial build hit the timeout).
    note: str | None = None
    #: The migration operation that creates it, for the table's model (None: no model).
    operation: FixOperation | None = None
    #: The model's class name ("Task"), for "Task.Meta.indexes".
    model: str | None = None
    #: The rules' candidate it came from (not part of the JSON contract).
    candidate: Candidate | None = field(default=None, repr=False)
    #: The declared index this restores (in Meta.indexes, missing from the database): its
    #: name, and auditindexes' own fix as the SQL and operation.
    restore: str | None = None
    #: Verified only: statement number -> (plan document without the index, with it), for the
    #: admin page's before/after pictures (not part of the JSON contract: plans are large).
    plans: dict = field(default_factory=dict, repr=False)

    @property
    def reduction(self) -> float | None:
        if self.cost_before and self.cost_after is not None:
            return 1 - self.cost_after / self.cost_before
        return None

    @property
    def migration(self) -> dict[str, Any] | None:
        """Ready to paste: the ``Meta.indexes`` entry and the operation (the one writer's)."""
        if self.operation is None:
            return None
        from perfaudit import migration_writer

        note = None
        if self.restore:
            note = (
                f"{self.restore} is declared already (Meta.indexes and the migration state): "
                "this RunSQL restores it in the database, IF NOT EXISTS, so a fresh install "
                "that has it stays as it is"
            )
        return migration_writer.describe(self.operation, model=self.model, note=note)

    def to_dict(self) -> dict[str, Any]:
        hidden = {"candidate", "operation", "model", "plans"}
        document = {k: v for k, v in self.__dict__.items() if k not in hidden}
        return document | {"migration": self.migration, "reduction": self.reduction}


@dataclass(frozen=True)
class Advice:
    """The choose stage's verdict: every statement with its note, the suggestions, and the
    findings the report carries."""

    statements: tuple[StatementResult, ...]
    suggestions: tuple[Suggestion, ...]
    findings: tuple = ()
