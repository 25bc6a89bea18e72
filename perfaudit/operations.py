"""Fixes as structured migration operations: what the rules return, what the one writer writes.

A rule never writes Python: it says *what* to do (add or remove an index, validate a
constraint, run SQL the state does not track), on which model and table, concurrently or not,
and why. ``perfaudit.migration_writer`` turns each ``FixOperation`` into Django's own operation
object, prints it (``Fix.migration``) and writes migration files with Django's
``MigrationWriter``; ``perfaudit.ddl`` writes the SQL, every identifier and literal quoted by
``psycopg.sql``.

Kinds, and the Django operation each becomes:

* ``add_index``: ``AddIndexConcurrently`` (``AddIndex`` with ``concurrently=False``), with
  ``index`` the ``Meta.indexes`` entry; the migration state gains the index. With ``sql``
  (``CREATE INDEX ... IF NOT EXISTS``) it is written as ``SeparateDatabaseAndState``: the
  state gains the index, the database runs ``sql`` (reverse: ``DROP INDEX ... IF EXISTS``), so
  a second run after a partial one finds the index there and goes on.
* ``remove_index``: ``RemoveIndexConcurrently`` / ``RemoveIndex``; the state must know it.
* ``validate_constraint``: ``ValidateConstraint``; no state change.
* ``run_sql``: ``RunSQL`` with ``sql`` (one operation, its statements run in order) and
  ``reverse_sql`` (None: ``RunSQL.noop``); database only, the state is untouched. Build the
  statements with ``perfaudit.ddl`` (``concurrently=``, ``if_exists=``), so each can be re-run.

The migration holding them is non-atomic (``CONCURRENTLY`` cannot run in a transaction), and
each operation stands alone: one that fails leaves those before it applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfaudit.snapshots.base import Record

ADD_INDEX = "add_index"
REMOVE_INDEX = "remove_index"
VALIDATE_CONSTRAINT = "validate_constraint"
RUN_SQL = "run_sql"
KINDS = (ADD_INDEX, REMOVE_INDEX, VALIDATE_CONSTRAINT, RUN_SQL)


@dataclass(frozen=True)
class IndexKey(Record):
    """One key of a ``Meta.indexes`` entry declared with expressions."""

    field: str
    #: upper | lower: the key is ``Upper(F(field))`` / ``Lower(F(field))``.
    function: str | None = None
    descending: bool = False
    opclass: str | None = None


@dataclass(frozen=True)
class IndexCondition(Record):
    """One conjunct of a partial index's ``condition``: ``Q(field=value)``, or
    ``Q(field__isnull=value)`` when ``isnull``."""

    field: str
    value: Any = None
    isnull: bool = False


@dataclass(frozen=True)
class DjangoIndex(Record):
    """A ``Meta.indexes`` entry: ``models.Index(fields=...)`` when ``fields`` is given, else
    ``models.Index(*expressions)`` (``GinIndex`` for ``method="gin"``) from ``keys``."""

    name: str
    method: str = "btree"
    #: Field names, "-name" for a descending key.
    fields: tuple[str, ...] = ()
    opclasses: tuple[str, ...] = ()
    keys: tuple[IndexKey, ...] = ()
    condition: tuple[IndexCondition, ...] = ()


@dataclass(frozen=True)
class FixOperation(Record):
    kind: str
    app_label: str
    #: The model (lower-case name) the operation is about; None for run_sql on a stray table.
    model_name: str | None = None
    table: str | None = None
    #: The index or constraint.
    name: str | None = None
    concurrently: bool = True
    #: add_index: the declaration the state gains.
    index: DjangoIndex | None = None
    #: run_sql: the statements, in order, and those undoing them (None: nothing to undo);
    #: add_index: the statement building it IF NOT EXISTS (see above).
    sql: tuple[str, ...] = ()
    reverse_sql: tuple[str, ...] | None = None
    #: Why, in a few words: a comment next to the operation.
    reason: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
