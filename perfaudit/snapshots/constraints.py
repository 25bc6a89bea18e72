"""Constraints added NOT VALID and never validated (pg_constraint.convalidated = false)."""

from __future__ import annotations

from dataclasses import dataclass, field

from perfaudit.snapshots.base import Record, Snapshot
from perfaudit.snapshots.declared import ModelRef


@dataclass(frozen=True)
class NotValidConstraint(Record):
    schema: str
    table: str
    name: str
    #: pg_constraint.contype: c (CHECK), f (FOREIGN KEY), n (NOT NULL, PostgreSQL 18).
    type: str
    definition: str  # pg_get_constraintdef, e.g. "CHECK ((qty > 0)) NOT VALID"
    columns: tuple[str, ...] = ()
    referenced_table: str | None = None
    referenced_columns: tuple[str, ...] = ()
    #: The CHECK expression alone (pg_get_expr of conbin), for the query that finds violators.
    check_expression: str | None = None


@dataclass(frozen=True)
class ConstraintsSelection(Record):
    table: str | None = None


@dataclass(frozen=True)
class ConstraintsSnapshot(Snapshot):
    KIND = "constraints"

    not_valid: tuple[NotValidConstraint, ...]
    #: db_table -> model, so a fix can be a ValidateConstraint operation in its app.
    models: dict[str, ModelRef] = field(default_factory=dict)
    selection: ConstraintsSelection = field(default_factory=ConstraintsSelection)
