"""The typed report of adviseindexes: statements, suggestions, the JSON contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perfaudit.findings import Report
from perfaudit.rules import advisor as rules

#: Statements the advisor plans. Plain EXPLAIN (never ANALYZE) executes none of them.
ADVISABLE = {"SELECT", "WITH", "UPDATE", "DELETE"}
MODES = ("hypopg", "build", "unverified")


@dataclass
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


@dataclass
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
    migration: dict | None
    replaces: list[str] = field(default_factory=list)
    needs_extension: str | None = None
    #: Why an unverified candidate could not be verified (e.g. a trial build hit the timeout).
    note: str | None = None
    #: The rules' candidate it came from (not part of the JSON contract).
    candidate: rules.Candidate | None = field(default=None, repr=False)

    @property
    def reduction(self) -> float | None:
        if self.cost_before and self.cost_after is not None:
            return 1 - self.cost_after / self.cost_before
        return None

    def to_dict(self) -> dict[str, Any]:
        document = {k: v for k, v in self.__dict__.items() if k != "candidate"}
        return document | {"reduction": self.reduction}


@dataclass(kw_only=True)
class AdvisorReport(Report):
    mode: str = "unverified"
    min_cost_reduction: float = 0.5
    suggestions: list[Suggestion] = field(default_factory=list)
    statements: list[StatementResult] = field(default_factory=list)
    written: str | None = None
    hypopg: dict[str, bool] = field(default_factory=dict)
    pg_stat_statements_usable: bool | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "min_cost_reduction": self.min_cost_reduction,
            "hypopg": self.hypopg,
            "pg_stat_statements_usable": self.pg_stat_statements_usable,
            "suggestions": [s.to_dict() for s in self.suggestions],
            "statements": [s.to_dict() for s in self.statements],
            "written_migration": self.written,
        }
