"""What-if indexes, always undone: the planner's cost for a statement with and without a
candidate index.

Two ways, both inside perfaudit's rolled-back transaction (``services.rolled_back``):

* HypoPG (``hypopg_create_index``): a hypothetical index only the planner of this session sees;
  nothing is built, no lock is taken. HypoPG's indexes live in the backend's memory, not in a
  transaction, so every trial ends with ``hypopg_reset()`` (also on error).
* ``allow_build``: ``CREATE INDEX`` for real inside a savepoint that is rolled back. It reads the
  whole table and holds a SHARE lock (writes wait) while it builds: development and staging
  databases only.

This module is perfaudit's sandbox for index trials; it never commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import DatabaseError, transaction

from perfaudit.rules.plans import walk

#: The prepared statement the PostgreSQL < 16 generic-plan path uses (deallocated after use).
PREPARED = "perfaudit_advisor_stmt"


class WhatIfError(Exception):
    pass


@dataclass(frozen=True)
class Plan:
    cost: float
    index_names: frozenset[str]
    document: dict


def _plan_document(rows) -> dict:
    result = rows[0][0]
    if isinstance(result, str):
        result = json.loads(result)
    return result[0]


def explain(cursor, sql: str, *, nparams: int, pg_version: int, execute_one) -> Plan:
    """EXPLAIN (no ANALYZE: nothing executes) and the plan's total cost.

    ``$n`` placeholders (pg_stat_statements' texts) get a generic plan: EXPLAIN (GENERIC_PLAN)
    on PostgreSQL 16+; before 16, PREPARE the statement and EXPLAIN EXECUTE it with NULL
    arguments under ``plan_cache_mode = force_generic_plan`` (set locally), so the plan is the
    one built without looking at the values, exactly what GENERIC_PLAN shows.
    """
    statement = sql.strip().rstrip(";")
    if nparams and pg_version >= 160000:
        rows = execute_one(cursor, f"EXPLAIN (FORMAT JSON, GENERIC_PLAN) {statement}", simple=True)
    elif nparams:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE {PREPARED} AS {statement}")
        try:
            args = ", ".join(["NULL"] * nparams)
            # A savepoint, so a failing EXPLAIN leaves a transaction DEALLOCATE can still use.
            with transaction.atomic(using=cursor.db.alias):
                cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE {PREPARED}({args})")
                rows = cursor.fetchall()
        finally:
            # Prepared statements outlive a rollback: always deallocate.
            cursor.execute(f"DEALLOCATE {PREPARED}")
    else:
        rows = execute_one(cursor, f"EXPLAIN (FORMAT JSON) {statement}")
    document = _plan_document(rows)
    names = frozenset(
        node.node["Index Name"] for node in walk(document["Plan"]) if "Index Name" in node.node
    )
    return Plan(float(document["Plan"]["Total Cost"]), names, document)


@dataclass(frozen=True)
class TrialResult:
    plans: dict[int, Plan]  # statement number -> plan with the index
    index_name: str
    size_bytes: int | None


def try_hypothetical(
    connection, cursor, create_sql: str, statements: dict[int, tuple], **kw
) -> TrialResult:
    """Plan ``statements`` ({number: (sql, nparams)}) with one hypothetical index."""
    try:
        # A savepoint: HypoPG refusing an access method (GIN) must not abort the transaction
        # the reset below runs in.
        with transaction.atomic(using=connection.alias):
            cursor.execute(
                "SELECT indexrelid, indexname FROM hypopg_create_index(%s)", [create_sql]
            )
            oid, name = cursor.fetchone()
            cursor.execute("SELECT hypopg_relation_size(%s)", [oid])
            size = cursor.fetchone()[0]
            plans = {
                number: explain(cursor, sql, nparams=n, **kw)
                for number, (sql, n) in statements.items()
            }
            return TrialResult(plans, name, size)
    finally:
        cursor.execute("SELECT hypopg_reset()")


def try_built(
    connection, cursor, create_sql: list[str], name: str, statements: dict[int, tuple], **kw
) -> TrialResult:
    """Build the index for real in a savepoint, plan, and roll the savepoint back."""
    with transaction.atomic(using=connection.alias):
        try:
            for sql in create_sql:
                cursor.execute(sql)
            cursor.execute("SELECT pg_relation_size(%s::regclass)", [name])
            size = cursor.fetchone()[0]
            plans = {
                number: explain(cursor, sql, nparams=n, **kw)
                for number, (sql, n) in statements.items()
            }
            return TrialResult(plans, name, size)
        finally:
            transaction.set_rollback(True, using=connection.alias)


def hypothetical_count(cursor) -> int:
    cursor.execute("SELECT count(*) FROM hypopg_list_indexes")
    return cursor.fetchone()[0]


__all__ = [
    "DatabaseError",
    "Plan",
    "TrialResult",
    "WhatIfError",
    "explain",
    "hypothetical_count",
    "try_built",
    "try_hypothetical",
]
