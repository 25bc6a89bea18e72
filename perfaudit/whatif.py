"""The advisor's verify stage: plan the statements with each candidate index, then undo it.

All inside one transaction that is always rolled back (perfaudit.sandbox.rolled_back):

* HypoPG (``hypopg_create_index``): a hypothetical index only the planner of this session sees;
  nothing is built, no lock is taken. HypoPG's indexes live in the backend's memory, not in a
  transaction, so every trial ends with ``hypopg_reset()`` (also on error).
* ``try_built``: ``CREATE INDEX`` for real inside a savepoint that is rolled back. It reads the
  whole table and holds a SHARE lock (writes wait) while it builds: development and staging
  databases only (``adviseindexes --allow-build``).

Plain EXPLAIN (never ANALYZE): no statement is executed.
"""

from __future__ import annotations

import json

from django.db import DatabaseError, transaction

from perfaudit.errors import ServiceError, one_line
from perfaudit.gate import describe
from perfaudit.sandbox import as_role, execute_one, rolled_back
from perfaudit.snapshots.advisor import IndexTrial, PlanTarget, Verification, WhatIfIndex
from perfaudit.snapshots.plans import PlannedCost, index_names

#: The prepared statement the PostgreSQL < 16 generic-plan path uses (deallocated after use).
PREPARED = "perfaudit_advisor_stmt"


def _plan_document(rows) -> dict:
    result = rows[0][0]
    if isinstance(result, str):
        result = json.loads(result)
    return result[0]


def plan_cost(cursor, sql: str, *, nparams: int, pg_version: int) -> PlannedCost:
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
    plan = document["Plan"]
    return PlannedCost(float(plan["Total Cost"]), index_names(plan), document)


def _plans(cursor, targets: list[PlanTarget], pg_version: int) -> dict[int, PlannedCost]:
    return {
        t.number: plan_cost(cursor, t.sql, nparams=t.nparams, pg_version=pg_version)
        for t in targets
    }


def try_hypothetical(connection, cursor, index: WhatIfIndex, targets, *, pg_version) -> IndexTrial:
    """Plan ``targets`` with one hypothetical index."""
    try:
        # A savepoint: HypoPG refusing an access method (GIN) must not abort the transaction
        # the reset below runs in.
        with transaction.atomic(using=connection.alias):
            cursor.execute(
                "SELECT indexrelid, indexname FROM hypopg_create_index(%s)",
                [index.hypothetical_sql],
            )
            oid, name = cursor.fetchone()
            cursor.execute("SELECT hypopg_relation_size(%s)", [oid])
            size = cursor.fetchone()[0]
            plans = _plans(cursor, targets, pg_version)
            return IndexTrial(index.number, "hypopg", name, size, plans)
    finally:
        cursor.execute("SELECT hypopg_reset()")


def try_built(connection, cursor, index: WhatIfIndex, targets, *, pg_version) -> IndexTrial:
    """Build the index for real in a savepoint, plan, and roll the savepoint back."""
    with transaction.atomic(using=connection.alias):
        try:
            for sql in index.build_sql:
                cursor.execute(sql)
            cursor.execute("SELECT pg_relation_size(%s::regclass)", [index.name])
            size = cursor.fetchone()[0]
            plans = _plans(cursor, targets, pg_version)
            return IndexTrial(index.number, "build", index.name, size, plans)
        finally:
            transaction.set_rollback(True, using=connection.alias)


def hypothetical_count(cursor) -> int:
    cursor.execute("SELECT count(*) FROM hypopg_list_indexes")
    return cursor.fetchone()[0]


def _before(connection, cursor, targets, pg_version, *, role=None, typed=frozenset()):
    """Each target's plan as it is; a typed statement (``typed``) planned as ``role``."""
    before, errors = {}, {}
    for target in targets:
        as_ = role if target.sql in typed else None
        try:
            with transaction.atomic(using=connection.alias), as_role(cursor, as_):
                before[target.number] = plan_cost(
                    cursor, target.sql, nparams=target.nparams, pg_version=pg_version
                )
        except DatabaseError as exc:
            errors[target.number] = f"EXPLAIN failed: {describe(exc, role=as_)}"
    return before, errors


def _try(connection, cursor, index, targets, *, mode, allow_build, pg_version, errors):
    """HypoPG plans B-trees (and hash/BRIN); GIN, or no HypoPG, needs a real build: asked for
    (``allow_build``), or unasked on a table small enough to build on in milliseconds."""
    attempts = []
    if mode == "hypopg" and index.method == "btree":
        attempts.append(("HypoPG", try_hypothetical))
    if allow_build:
        attempts.append(("trial build", try_built))
    for label, attempt in attempts:
        try:
            return attempt(connection, cursor, index, targets, pg_version=pg_version)
        except DatabaseError as exc:
            errors.append(f"{label}: {one_line(exc)}")
    return None


def mode_of(*, hypopg: bool, allow_build: bool, build_max_bytes: int) -> str:
    """hypopg | build (every candidate may be built) | auto (candidates on tables up to
    ``build_max_bytes`` are built, larger ones unverified) | unverified."""
    if hypopg:
        return "hypopg"
    if allow_build:
        return "build"
    return "auto" if build_max_bytes > 0 else "unverified"


def verify(
    connection,
    statements: list[PlanTarget],
    indexes: list[WhatIfIndex],
    *,
    hypopg: bool,
    allow_build: bool,
    timeout_ms: int,
    build_max_bytes: int = 0,
    min_cost: float = 0.0,
    role: str | None = None,
    typed: frozenset[str] = frozenset(),
) -> Verification:
    """Each statement's plan as it is, then each index's trial on the statements it may
    serve (those whose plan costs at least ``min_cost``): with HypoPG when the extension is
    installed, else built when ``allow_build`` or its table is at most ``build_max_bytes``,
    else not at all. Statements someone typed (``typed``) are planned first as ``role``
    (PERFAUDIT['SQL_ROLE']): one the role may not plan is not tried further."""
    mode = mode_of(hypopg=hypopg, allow_build=allow_build, build_max_bytes=build_max_bytes)
    pg_version = connection.pg_version
    trials, trial_errors = [], {}
    try:
        with rolled_back(connection, timeout_ms=timeout_ms) as cursor:
            if hypopg:
                cursor.execute("SELECT hypopg_reset()")
            before, explain_errors = _before(
                connection, cursor, statements, pg_version, role=role, typed=typed
            )
            by_number = {t.number: t for t in statements}
            for index in indexes:
                targets = [
                    by_number[n]
                    for n in index.statements
                    if n in before and before[n].cost >= min_cost
                ]
                if not targets:
                    continue
                errors: list[str] = []
                trial = _try(
                    connection,
                    cursor,
                    index,
                    targets,
                    mode=mode,
                    allow_build=allow_build or 0 < index.table_bytes <= build_max_bytes,
                    pg_version=pg_version,
                    errors=errors,
                )
                trial_errors[index.number] = tuple(errors)
                if trial is not None:
                    trials.append(trial)
    except DatabaseError as exc:
        raise ServiceError(f"what-if failed: {describe(exc)}") from None
    return Verification(mode, before, explain_errors, tuple(trials), trial_errors)
